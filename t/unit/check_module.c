/* Unit tests of the module registry's core: the HCL block scanner against
 * module sources written the ways real modules are (comments of all three
 * kinds, quoted strings with nested templates, heredocs, nested types and
 * validation blocks, one-line blocks, CRLF line ends), what it refuses
 * (and on which line), semantic versions, and module addresses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tp_hcl_scan.h"
#include "tp_module.h"
#include "tp_module_vcs.h"

Suite *module_suite(void);

static apr_pool_t *pool;
static apr_array_header_t *vars, *outs;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    vars = apr_array_make(pool, 4, sizeof(tp_hcl_var_t));
    outs = apr_array_make(pool, 4, sizeof(tp_hcl_output_t));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static tp_err_t *scan(const char *src)
{
    return tp_hcl_scan(pool, src, strlen(src), vars, outs);
}

static const tp_hcl_var_t *var(int i)
{
    ck_assert_int_lt(i, vars->nelts);
    return &APR_ARRAY_IDX(vars, i, tp_hcl_var_t);
}

static const tp_hcl_output_t *out(int i)
{
    ck_assert_int_lt(i, outs->nelts);
    return &APR_ARRAY_IDX(outs, i, tp_hcl_output_t);
}

/* variables.tf of a VPC module, in the style of the public ones */
static const char VPC_VARIABLES[] =
    "################################################################\n"
    "# VPC\n"
    "################################################################\n"
    "\n"
    "variable \"create_vpc\" {\n"
    "  description = \"Controls if VPC should be created (it affects almost all resources)\"\n"
    "  type        = bool\n"
    "  default     = true\n"
    "}\n"
    "\n"
    "variable \"name\" {\n"
    "  description = \"Name to be used on all the resources as identifier\"\n"
    "  type        = string\n"
    "  default     = \"\"\n"
    "}\n"
    "\n"
    "variable \"azs\" {\n"
    "  description = \"A list of availability zones names or ids in the region\"\n"
    "  type        = list(string)\n"
    "  default     = []\n"
    "}\n"
    "\n"
    "variable \"subnets\" {\n"
    "  description = \"Subnets by name: { cidr, public }\"\n"
    "  type = map(object({\n"
    "    cidr   = string\n"
    "    public = optional(bool, false) // the default is private\n"
    "    tags   = optional(map(string), {})\n"
    "  }))\n"
    "  default = {\n"
    "    \"a\" = { cidr = \"10.0.0.0/24\" }\n"
    "  }\n"
    "\n"
    "  validation {\n"
    "    condition = alltrue([\n"
    "      for s in values(var.subnets) : can(cidrhost(s.cidr, 0))\n"
    "    ])\n"
    "    error_message = \"Every subnet needs a valid CIDR, e.g. \\\"10.0.0.0/24\\\".\"\n"
    "  }\n"
    "}\n"
    "\n"
    "/*\n"
    "variable \"commented_out\" {\n"
    "  type = string\n"
    "}\n"
    "*/\n"
    "\n"
    "variable \"db_password\" {\n"
    "  type      = string\n"
    "  sensitive = true\n"
    "  nullable  = false\n"
    "}\n";

static const char VPC_OUTPUTS[] =
    "output \"vpc_id\" {\n"
    "  description = \"The ID of the VPC\"\n"
    "  value       = try(aws_vpc.this[0].id, null)\n"
    "}\n"
    "\n"
    "output \"vpc_arn\" {\n"
    "  description = <<-EOT\n"
    "    The ARN of the VPC.\n"
    "      Indented further.\n"
    "  EOT\n"
    "  value = try(aws_vpc.this[0].arn, null)\n"
    "}\n"
    "\n"
    "output \"summary\" {\n"
    "  value = <<EOF\n"
    "VPC ${var.name} in ${join(\", \", var.azs)} }\n"
    "EOF\n"
    "}\n"
    "\n"
    "output \"connection\" {\n"
    "  value     = \"postgres://app:${var.db_password}@${aws_db_instance.this.address}/app\"\n"
    "  sensitive = true\n"
    "}\n";

START_TEST(real_module)
{
    ck_assert_ptr_null(scan(VPC_VARIABLES));
    ck_assert_ptr_null(scan(VPC_OUTPUTS));
    ck_assert_int_eq(vars->nelts, 5);
    ck_assert_str_eq(var(0)->name, "create_vpc");
    ck_assert_str_eq(var(0)->type, "bool");
    ck_assert_str_eq(var(0)->description, "Controls if VPC should be created "
                     "(it affects almost all resources)");
    ck_assert(var(0)->has_default);
    ck_assert(!var(0)->sensitive);
    ck_assert_str_eq(var(2)->type, "list(string)");
    ck_assert_str_eq(var(3)->name, "subnets");
    ck_assert_str_eq(var(3)->description, "Subnets by name: { cidr, public }");
    ck_assert_str_eq(var(3)->type,
                     "map(object({\n"
                     "    cidr   = string\n"
                     "    public = optional(bool, false) // the default is private\n"
                     "    tags   = optional(map(string), {})\n"
                     "  }))");
    ck_assert(var(3)->has_default);
    ck_assert_str_eq(var(4)->name, "db_password");
    ck_assert(var(4)->sensitive);
    ck_assert(!var(4)->has_default);
    ck_assert_int_eq(outs->nelts, 4);
    ck_assert_str_eq(out(0)->name, "vpc_id");
    ck_assert_str_eq(out(0)->description, "The ID of the VPC");
    ck_assert_str_eq(out(1)->description,
                     "The ARN of the VPC.\n  Indented further.");
    ck_assert_str_eq(out(2)->name, "summary");
    ck_assert_ptr_null(out(2)->description);
    ck_assert(out(3)->sensitive);
    ck_assert(!out(0)->sensitive);
}
END_TEST

/* Blocks other than variable and output, with everything that could
 * look like one inside them, are passed over whole. */
START_TEST(other_blocks)
{
    const char *src =
        "terraform {\n"
        "  required_version = \">= 1.3\"\n"
        "  required_providers {\n"
        "    aws = { source = \"hashicorp/aws\", version = \">= 5.0\" }\n"
        "  }\n"
        "}\n"
        "locals {\n"
        "  tags = merge(var.tags, { \"Name\" = \"${var.name}-${each.key}\" })\n"
        "  brace_in_string = \"variable \\\"fake\\\" {\"\n"
        "  template = \"%{ for k, v in var.tags }${k}=${v}%{ endfor }\"\n"
        "  literal  = \"$${not.an.interpolation} %%{ nor } a directive\"\n"
        "  nested   = \"${lookup({\"}\" = \"{\"}, \"}\", \"x\")}\"\n"
        "}\n"
        "resource \"aws_security_group\" \"this\" {\n"
        "  dynamic \"ingress\" {\n"
        "    for_each = var.rules\n"
        "    content {\n"
        "      from_port = ingress.value.port\n"
        "      # output \"not_me\" {}\n"
        "    }\n"
        "  }\n"
        "  policy = <<POLICY\n"
        "{\"Statement\": [{\"Effect\": \"Allow\"}\n"
        "POLICY\n"
        "}\n"
        "module \"child\" { source = \"./modules/child\" }\n"
        "variable \"last\" {}\n"
        "output \"one_line\" { value = 1 }\n";

    ck_assert_ptr_null(scan(src));
    ck_assert_int_eq(vars->nelts, 1);
    ck_assert_str_eq(var(0)->name, "last");
    ck_assert_ptr_null(var(0)->type);
    ck_assert_int_eq(outs->nelts, 1);
    ck_assert_str_eq(out(0)->name, "one_line");
}
END_TEST

START_TEST(strings_decoded)
{
    const char *src =
        "variable \"a\" {\r\n"
        "  description = \"tab\\there, quote \\\" backslash \\\\ \\u00e9\\U0001F600 $${x}\"\r\n"
        "  type = string # trailing comment\r\n"
        "}\r\n"
        "variable \"b\" {\n"
        "  description = \"Uses ${var.a}\"\n"
        "  type = object({ a = string }) /* trailing block comment */\n"
        "  sensitive = false\n"
        "}\n"
        "variable c {\n"
        "  description = join(\"\", [\"built\"])\n"
        "}\n";

    ck_assert_ptr_null(scan(src));
    ck_assert_int_eq(vars->nelts, 3);
    ck_assert_str_eq(var(0)->description,
                     "tab\there, quote \" backslash \\ \xc3\xa9"
                     "\xf0\x9f\x98\x80 ${x}");
    ck_assert_str_eq(var(0)->type, "string");
    ck_assert_str_eq(var(1)->description, "Uses ${var.a}");
    ck_assert_str_eq(var(1)->type, "object({ a = string })");
    ck_assert(!var(1)->sensitive);
    ck_assert_str_eq(var(2)->name, "c");
    ck_assert_str_eq(var(2)->description, "join(\"\", [\"built\"])");
}
END_TEST

/* What cannot be HCL, and the line the error names. */
START_TEST(refused)
{
    static const struct {
        const char *src;
        const char *detail;
    } bad[] = {
        {"variable \"x\" {\n  default = \"open\n}\n",
         "line 2: unterminated string"},
        {"variable \"x\" {\n  type = string\n", "line 3: '{' is never closed"},
        {"/* open\n\n", "line 3: unterminated comment"},
        {"output \"x\" {\n  value = <<EOT\nno end\n}\n",
         "line 5: unterminated heredoc"},
        {"output \"x\" {\n  value = <<\nx\n}\n",
         "line 2: a heredoc needs a marker after <<"},
        {"locals {\n  a = [1, 2)\n}\n", "line 2: unexpected ')'"},
        {"}\n", "line 1: expected a block or an attribute"},
        {"variable \"x\" \"y\" = 1\n", "line 1: expected '{' after a block's labels"},
        {"variable \"x\" {\n  + = 1\n}\n",
         "line 2: expected an attribute or a block"},
        {"variable \"x\" {\n  validation ( }\n}\n", "line 2: expected '=' or '{'"},
        /* the template's expression spans lines, its string does not */
        {"locals {\n  s = \"${\"}\"\n}\n", "line 3: unterminated string"},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tp_err_t *err = scan(bad[i].src);

        ck_assert_msg(err != NULL, "case %d refused", (int)i);
        ck_assert_int_eq(err->status, 422);
        ck_assert_str_eq(err->detail, bad[i].detail);
    }
}
END_TEST

START_TEST(depth_bounded)
{
    char *deep = apr_palloc(pool, 2 * TP_HCL_MAX_DEPTH + 32), *o = deep;
    tp_err_t *err;
    int i;

    o += sprintf(o, "locals {\n  a = ");
    for (i = 0; i < TP_HCL_MAX_DEPTH; i++) {
        *o++ = '[';
    }
    for (i = 0; i < TP_HCL_MAX_DEPTH; i++) {
        *o++ = ']';
    }
    strcpy(o, "\n}\n");
    err = scan(deep);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err->detail, "line 2: nested too deeply");
    /* one level less is fine */
    memmove(deep + 15, deep + 16, strlen(deep + 16) + 1);
    memmove(deep + 15 + TP_HCL_MAX_DEPTH - 1, deep + 15 + TP_HCL_MAX_DEPTH,
            strlen(deep + 15 + TP_HCL_MAX_DEPTH) + 1);
    ck_assert_ptr_null(scan(deep));
}
END_TEST

/* Input need not end in NUL: nothing past len is read. */
START_TEST(length_respected)
{
    const char *src = "variable \"a\" {}\nvariable \"b\" {}\n";

    ck_assert_ptr_null(tp_hcl_scan(pool, src, 16, vars, outs));
    ck_assert_int_eq(vars->nelts, 1);
    ck_assert_ptr_nonnull(tp_hcl_scan(pool, "variable \"a\" {", 14, vars,
                                      outs));
}
END_TEST

START_TEST(semver)
{
    static const char *const good[] = {
        "0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1",
        "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", NULL
    };
    static const char *const bad[] = {
        "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3",
        "1.2.3-", "1.2.3-01", "1.2.3-a..b", "1.2.3-a.", "1.2.3+build",
        "1.2.3-a+b", "1.2.3 ", "-1.2.3", "1.2.3-é", "1234567890123456.0.0",
        NULL
    };
    tp_semver_t v;
    int i;

    for (i = 0; good[i]; i++) {
        ck_assert_msg(tp_semver_parse(pool, good[i], &v), "%s", good[i]);
    }
    for (i = 0; bad[i]; i++) {
        ck_assert_msg(!tp_semver_parse(pool, bad[i], &v), "%s", bad[i]);
    }
    ck_assert(tp_semver_parse(pool, "12.0.345-rc.1", &v));
    ck_assert_int_eq(v.major, 12);
    ck_assert_int_eq(v.minor, 0);
    ck_assert_int_eq(v.patch, 345);
    ck_assert_str_eq(v.prerelease, "rc.1");
    ck_assert(tp_semver_parse(pool, "1.0.0", &v));
    ck_assert_str_eq(v.prerelease, "");
    ck_assert_str_eq(v.order, "");
    ck_assert(!tp_semver_parse(pool, "1.0.0-1234567890123456", &v));
}
END_TEST

/* semver.org's own example of precedence, and more: each pre-release's
 * order key sorts (as bytes) below the next one's. */
START_TEST(semver_precedence)
{
    static const char *const ordered[] = {
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-alpha-x",
        "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0-rc.9", "1.0.0-rc.10", "1.0.0-rc1", NULL
    };
    tp_semver_t a, b;
    int i;

    for (i = 0; ordered[i + 1]; i++) {
        ck_assert(tp_semver_parse(pool, ordered[i], &a));
        ck_assert(tp_semver_parse(pool, ordered[i + 1], &b));
        ck_assert_msg(strcmp(a.order, b.order) < 0, "%s < %s", ordered[i],
                      ordered[i + 1]);
    }
}
END_TEST

START_TEST(addresses)
{
    ck_assert(tp_module_name_valid("vpc"));
    ck_assert(tp_module_name_valid("terraform-aws_vpc2"));
    ck_assert(!tp_module_name_valid("-vpc"));
    ck_assert(!tp_module_name_valid("v.pc"));
    ck_assert(!tp_module_name_valid(""));
    ck_assert(!tp_module_name_valid(apr_psprintf(pool, "%065d", 0)));
    ck_assert(tp_module_provider_valid("aws"));
    ck_assert(tp_module_provider_valid("azurerm2"));
    ck_assert(!tp_module_provider_valid("AWS"));
    ck_assert(!tp_module_provider_valid("a-b"));
    ck_assert(!tp_module_provider_valid(""));
    ck_assert_str_eq(tp_module_key(pool, "mod-1", "modver-2"),
                     "registry/modules/mod-1/modver-2.tar.gz");
}
END_TEST

START_TEST(tag_versions)
{
    ck_assert_str_eq(tp_module_tag_version(pool, "v*", "v1.2.3"), "1.2.3");
    ck_assert_str_eq(tp_module_tag_version(pool, "v*", "v2.0.0-rc.1"),
                     "2.0.0-rc.1");
    ck_assert_ptr_null(tp_module_tag_version(pool, "v*", "1.2.3"));
    ck_assert_ptr_null(tp_module_tag_version(pool, "v*", "v1.2"));
    ck_assert_ptr_null(tp_module_tag_version(pool, "v*", "vnext"));
    ck_assert_str_eq(tp_module_tag_version(pool, "*", "1.0.0"), "1.0.0");
    ck_assert_ptr_null(tp_module_tag_version(pool, "*", "v1.0.0"));
    ck_assert_str_eq(tp_module_tag_version(pool, "release-*", "release-3.1.4"),
                     "3.1.4");
    ck_assert_ptr_null(tp_module_tag_version(pool, "release-*", "v3.1.4"));
    /* a pattern without a star names one tag, which is no version */
    ck_assert_ptr_null(tp_module_tag_version(pool, "v1.0.0", "v1.0.0"));
}
END_TEST

/* Writes path (relative to dir) with text. */
static void put(const char *dir, const char *path, const char *text)
{
    const char *full = apr_pstrcat(pool, dir, "/", path, NULL);
    char *parent = apr_pstrdup(pool, full);
    apr_file_t *f;

    *strrchr(parent, '/') = '\0';
    ck_assert_int_eq(apr_dir_make_recursive(parent, APR_FPROT_OS_DEFAULT,
                                            pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_open(&f, full, APR_FOPEN_WRITE
                                   | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                                   APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
    apr_file_puts(text, f);
    apr_file_close(f);
}

/* A module's archive: only its root's .tf files and README are read (a
 * submodule's are not, nor other files), and the archive's own checks
 * still count every entry. */
START_TEST(inspect_archive)
{
    static const char *const paths[] = {
        "main.tf", "outputs.tf", "README.md", "modules/sub/main.tf",
        "data.json", NULL
    };
    char dir[] = "/tmp/tp-check-module-XXXXXX";
    tp_archive_limits_t limits = {1 << 20, 1 << 22, 100};
    apr_array_header_t *files = apr_array_make(pool, 8, sizeof(char *)), *read;
    const char *out, *readme;
    tp_archive_info_t info;
    tp_json_t *iface;
    tp_err_t *err;
    int i;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    out = apr_pstrcat(pool, dir, ".tar.gz", NULL);
    put(dir, "main.tf", "variable \"a\" {\n  default = 1\n}\n");
    put(dir, "outputs.tf", "output \"o\" { value = 1 }\n");
    put(dir, "README.md", "# A\n");
    put(dir, "modules/sub/main.tf", "variable \"inner\" {}\n");
    put(dir, "data.json", "{\"variable\": \"not HCL {\"}\n");
    for (i = 0; paths[i]; i++) {
        APR_ARRAY_PUSH(files, const char *) = paths[i];
    }
    ck_assert_ptr_null(tp_archive_write(pool, dir, files, out));
    ck_assert_ptr_null(tp_module_inspect(pool, out, &limits, 1 << 20, &iface,
                                         &readme));
    ck_assert_str_eq(tp_json_dump(iface, pool),
                     "{\"variables\":[{\"name\":\"a\",\"type\":\"any\","
                     "\"description\":\"\",\"required\":false,"
                     "\"sensitive\":false}],\"outputs\":[{\"name\":\"o\","
                     "\"description\":\"\",\"sensitive\":false}]}");
    ck_assert_str_eq(readme, "# A\n");
    ck_assert_ptr_null(tp_archive_read_some(pool, out, &limits, 1 << 20, NULL,
                                            &read, &info));
    ck_assert_int_eq(read->nelts, 5);
    ck_assert_int_eq(info.files, 5);

    put(dir, "main.tf", "variable \"a\" {\n");
    ck_assert_ptr_null(tp_archive_write(pool, dir, files, out));
    err = tp_module_inspect(pool, out, &limits, 1 << 20, &iface, &readme);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->status, 422);
    ck_assert_str_eq(err->detail, "main.tf: line 2: '{' is never closed");

    for (i = 0; paths[i]; i++) {
        apr_file_remove(apr_pstrcat(pool, dir, "/", paths[i], NULL), pool);
    }
    apr_dir_remove(apr_pstrcat(pool, dir, "/modules/sub", NULL), pool);
    apr_dir_remove(apr_pstrcat(pool, dir, "/modules", NULL), pool);
    apr_dir_remove(dir, pool);
    apr_file_remove(out, pool);
}
END_TEST

Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tcase_create("module");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, real_module);
    tcase_add_test(tc, other_blocks);
    tcase_add_test(tc, strings_decoded);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, depth_bounded);
    tcase_add_test(tc, length_respected);
    tcase_add_test(tc, semver);
    tcase_add_test(tc, semver_precedence);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, tag_versions);
    tcase_add_test(tc, inspect_archive);
    suite_add_tcase(s, tc);
    return s;
}
