/**
 * What each route declares about itself (who may call it, what the audit log calls it, which
 * error format its protocol uses) and what a request carries through the hooks.
 */
import type { Actor, Permission } from '../core/index.js';

/**
 * How a route's protocol answers errors: OIP and TF Serving `{"error": "..."}`, the native API adds
 * the error `code`; FHIR (`application/fhir+json`) and CDS Hooks (`application/json`) an
 * OperationOutcome. `http/errors.ts` holds what each one looks like.
 */
export type ErrorFormat = 'oip' | 'native' | 'fhir' | 'cds';

export interface GalenRouteConfig {
  /** No authentication (liveness and readiness only). */
  public?: boolean;
  /** Permission checked before the handler runs. */
  permission?: Permission;
  /** Audit action recorded for every call of this route, allowed or not. */
  audit?: string;
  errorFormat?: ErrorFormat;
  /**
   * CDS Hooks routes: the caller is a CDS client presenting a JWT it signed (`required`), or
   * either that or an API key (`or-api-key`, for discovery).
   */
  cdsClient?: 'required' | 'or-api-key';
}

export interface AuditFacts {
  model?: string;
  version?: number;
  detail?: Record<string, unknown>;
}

/** Where an inference call's time went inside the server. */
export interface InferenceTiming {
  /** Waiting in the model's queue (ns). */
  queueNs: number;
  /** ONNX Runtime's run (ns). */
  computeNs: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    public?: GalenRouteConfig['public'];
    permission?: GalenRouteConfig['permission'];
    audit?: GalenRouteConfig['audit'];
    errorFormat?: GalenRouteConfig['errorFormat'];
    cdsClient?: GalenRouteConfig['cdsClient'];
  }
  interface FastifyRequest {
    actor: Actor | null;
    auditFacts: AuditFacts;
    /** Set by inference routes: reported in the `Server-Timing` response header. */
    inferenceTiming: InferenceTiming | null;
  }
}
