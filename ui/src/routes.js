// @ts-check
// Every page of the UI: one row per route, one file per page under pages/.
// The first row whose pattern matches the path wins. `nav` puts a page in
// the navigation (`admin`: shown to platform admins and auditors only;
// `adminOnly`: to platform admins only, for pages the API serves to them
// alone).
import { WorkspacesPage } from './pages/workspaces.js';
import { WorkspaceOverviewPage } from './pages/workspace-overview.js';
import { WorkspaceRunsPage } from './pages/workspace-runs.js';
import { WorkspaceVariablesPage } from './pages/workspace-variables.js';
import { WorkspaceStatePage } from './pages/workspace-state.js';
import { WorkspaceConfigurationsPage } from './pages/workspace-configurations.js';
import { WorkspaceSettingsPage } from './pages/workspace-settings.js';
import { RunPage } from './pages/run.js';
import { RegistryModulesPage } from './pages/registry-modules.js';
import { RegistryModulePage } from './pages/registry-module.js';
import { AgentPoolsPage } from './pages/admin-agent-pools.js';
import { AgentPoolPage } from './pages/admin-agent-pool.js';
import { VariableSetsPage } from './pages/admin-variable-sets.js';
import { VariableSetPage } from './pages/admin-variable-set.js';
import { RolesPage } from './pages/admin-roles.js';
import { UsersPage } from './pages/admin-users.js';
import { AdminTokensPage } from './pages/admin-tokens.js';
import { AuditLogPage } from './pages/admin-audit-log.js';
import { VcsConnectionsPage } from './pages/admin-vcs-connections.js';
import { VcsConnectionPage } from './pages/admin-vcs-connection.js';
import { AutodiscoveryRulesPage } from './pages/admin-autodiscovery-rules.js';
import { AutodiscoveryRulePage } from './pages/admin-autodiscovery-rule.js';
import { BinaryCachePage } from './pages/admin-binary-cache.js';
import { MyTokensPage } from './pages/settings-tokens.js';
import { SessionsPage } from './pages/settings-sessions.js';
import { ProvidersPage } from './pages/registry-providers.js';
import { ProviderPage } from './pages/registry-provider.js';
import { GpgKeysPage } from './pages/registry-gpg-keys.js';
import { ApiDocsPage } from './pages/api-docs.js';
import { SignInPage } from './pages/sign-in.js';
import { NotFoundPage } from './pages/not-found.js';

import { HOME } from './lib/paths.js';

/**
 * @typedef {object} RouteRow
 * @property {string} pattern
 * @property {any} page a component taking {params, query}
 * @property {string} title
 * @property {{label: string, admin?: boolean, adminOnly?: boolean, group: string}} [nav]
 * @property {boolean} [public] shown without being signed in
 * @property {string} [redirect] goes to this path instead
 */

/** @type {RouteRow[]} */
export const routes = [
    { pattern: '/app/sign-in', page: SignInPage, title: 'Sign in', public: true },
    { pattern: '/app/:org/workspaces', page: WorkspacesPage, title: 'Workspaces',
      nav: { label: 'Workspaces', group: 'main' } },
    { pattern: '/app/:org/workspaces/:name', page: WorkspaceOverviewPage, title: 'Workspace' },
    { pattern: '/app/:org/workspaces/:name/runs', page: WorkspaceRunsPage, title: 'Runs' },
    { pattern: '/app/:org/workspaces/:name/runs/:run', page: RunPage, title: 'Run' },
    { pattern: '/app/:org/workspaces/:name/variables', page: WorkspaceVariablesPage, title: 'Variables' },
    { pattern: '/app/:org/workspaces/:name/state', page: WorkspaceStatePage, title: 'State' },
    { pattern: '/app/:org/workspaces/:name/configurations', page: WorkspaceConfigurationsPage,
      title: 'Configurations' },
    { pattern: '/app/:org/workspaces/:name/settings', page: WorkspaceSettingsPage, title: 'Settings' },
    // the address terraform prints for a run ("To view this run in a browser")
    { pattern: '/app/:org/:name/runs/:run', page: RunPage, title: 'Run' },
    { pattern: '/app/:org/registry/modules', page: RegistryModulesPage, title: 'Modules',
      nav: { label: 'Modules', group: 'main' } },
    { pattern: '/app/:org/registry/modules/:name/:provider', page: RegistryModulePage, title: 'Module' },
    { pattern: '/app/:org/registry/providers', page: ProvidersPage, title: 'Providers',
      nav: { label: 'Providers', group: 'main' } },
    { pattern: '/app/:org/registry/providers/:name', page: ProviderPage, title: 'Provider' },
    { pattern: '/app/:org/registry/gpg-keys', page: GpgKeysPage, title: 'GPG keys',
      nav: { label: 'GPG keys', group: 'main' } },
    { pattern: '/app/admin/agent-pools', page: AgentPoolsPage, title: 'Agent pools',
      nav: { label: 'Agent pools', group: 'admin', admin: true } },
    { pattern: '/app/admin/agent-pools/:id', page: AgentPoolPage, title: 'Agent pool' },
    { pattern: '/app/admin/variable-sets', page: VariableSetsPage, title: 'Variable sets',
      nav: { label: 'Variable sets', group: 'admin', admin: true } },
    { pattern: '/app/admin/variable-sets/:id', page: VariableSetPage, title: 'Variable set' },
    { pattern: '/app/admin/roles', page: RolesPage, title: 'Roles',
      nav: { label: 'Roles', group: 'admin', admin: true } },
    { pattern: '/app/admin/users', page: UsersPage, title: 'Users',
      nav: { label: 'Users', group: 'admin', admin: true } },
    { pattern: '/app/admin/tokens', page: AdminTokensPage, title: 'All tokens',
      nav: { label: 'All tokens', group: 'admin', admin: true } },
    { pattern: '/app/admin/audit-log', page: AuditLogPage, title: 'Audit log',
      nav: { label: 'Audit log', group: 'admin', admin: true } },
    { pattern: '/app/admin/vcs-connections', page: VcsConnectionsPage, title: 'VCS connections',
      nav: { label: 'VCS connections', group: 'admin', admin: true, adminOnly: true } },
    { pattern: '/app/admin/vcs-connections/:id', page: VcsConnectionPage, title: 'VCS connection' },
    { pattern: '/app/admin/autodiscovery-rules', page: AutodiscoveryRulesPage, title: 'Autodiscovery rules',
      nav: { label: 'Autodiscovery', group: 'admin', admin: true, adminOnly: true } },
    { pattern: '/app/admin/autodiscovery-rules/:id', page: AutodiscoveryRulePage, title: 'Autodiscovery rule' },
    { pattern: '/app/admin/binary-cache', page: BinaryCachePage, title: 'Binary cache',
      nav: { label: 'Binary cache', group: 'admin', admin: true, adminOnly: true } },
    { pattern: '/app/settings/tokens', page: MyTokensPage, title: 'My tokens',
      nav: { label: 'My tokens', group: 'settings' } },
    { pattern: '/app/settings/sessions', page: SessionsPage, title: 'Sessions',
      nav: { label: 'Sessions', group: 'settings' } },
    { pattern: '/app/api', page: ApiDocsPage, title: 'API',
      nav: { label: 'API', group: 'main' } },
    { pattern: '/', page: null, title: '', redirect: HOME },
    { pattern: '/app', page: null, title: '', redirect: HOME },
];

export { NotFoundPage };
