import type { Subject } from "../pipeline/types.js";

// Tenant isolation rules shared by approvals, sessions and audit views.

/** The tenant value that marks a cross-tenant operator (must also hold role "admin"). */
export const ALL_TENANTS = "*";

export function isSameTenant(a: Pick<Subject, "tenant">, b: Pick<Subject, "tenant">): boolean {
  return a.tenant === b.tenant;
}

/** May `viewer` see or act on something owned by `ownerTenant`? */
export function tenantVisible(viewer: Pick<Subject, "tenant" | "roles">, ownerTenant: string): boolean {
  if (viewer.tenant === ownerTenant) return true;
  return viewer.tenant === ALL_TENANTS && viewer.roles.includes("admin");
}
