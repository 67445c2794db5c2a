-- wrk: every request carries the bench user's token (from the environment,
-- never on the command line).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TP_BENCH_TOKEN")
