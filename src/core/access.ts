/**
 * Who may do what: roles, permissions and the grant table. Plain data, so the registry can make
 * data-dependent checks (moving `production` needs an approver) and every edge agrees.
 */
import { GalenError } from './errors.js';

export const ROLES = ['admin', 'developer', 'approver', 'service', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** Read model, version and signature metadata, and serving statistics. */
  'model:read',
  /** Register versions, edit descriptions and tags, archive. */
  'model:write',
  /** Move or remove any alias except `production`. */
  'alias:move',
  /** Move or remove the `production` alias. */
  'alias:production',
  /** Run inference. */
  'infer',
  /** Load and unload models in the runtime (Triton's repository extension). */
  'repository:manage',
  /** Create, list and revoke API keys. */
  'keys:manage',
  /** Read and verify the audit log. */
  'audit:read',
  /** See datasets: names, versions, schemas and column summaries (never rows). */
  'data:read',
  /** Upload datasets (patient-level training data). */
  'data:write',
  /** See and cancel every job (without it, a key sees and cancels only the jobs it submitted). */
  'jobs:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  developer: [
    'model:read',
    'model:write',
    'alias:move',
    'infer',
    'repository:manage',
    'data:read',
    'data:write',
  ],
  approver: ['model:read', 'alias:production'],
  service: ['model:read', 'infer'],
  auditor: ['model:read', 'audit:read'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleCan(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export function permissionsOf(role: Role): readonly Permission[] {
  return GRANTS[role];
}

/** The authenticated caller of a domain operation. */
export interface Actor {
  /** API key id, or a fixed id such as `env-admin` or `local-cli`. */
  readonly keyId: string;
  readonly role: Role;
}

/** The alias whose moves are reserved for approvers. */
export const PRODUCTION_ALIAS = 'production';

export function aliasPermission(alias: string): Permission {
  return alias === PRODUCTION_ALIAS ? 'alias:production' : 'alias:move';
}

/** Throws `forbidden`, naming the roles that would be allowed, unless `actor` holds `permission`. */
export function assertCan(actor: Actor, permission: Permission, what: string): void {
  if (roleCan(actor.role, permission)) return;
  const allowed = ROLES.filter((r) => roleCan(r, permission)).join(', ');
  throw new GalenError('forbidden', `role "${actor.role}" may not ${what}; this needs one of: ${allowed}`);
}
