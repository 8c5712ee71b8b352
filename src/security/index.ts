/** Security: API keys (hashed, role-bearing), CDS client JWTs and the hash-chained audit log. */
export { ApiKeys, ENV_ADMIN_KEY_ID } from './api-keys.js';
export type { ApiKeyInfo } from './api-keys.js';
export { AuditLog, auditHash } from './audit-log.js';
export type { AuditEntry, AuditVerification } from './audit-log.js';
export { CdsClientAuth, generateCdsClientKey, signCdsClientJwt } from './cds-clients.js';
export type { CdsClient, CdsClientKey, JwtIdLedger } from './cds-clients.js';
export { OidcVerifier, bearerActor, looksLikeJwt } from './oidc.js';
export type { OidcSettings } from './oidc.js';
export { JWT_ALGORITHMS } from './jwt-policy.js';
