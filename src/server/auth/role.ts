/** Who may use the page: the operator does everything, the viewer only reads. */
export type Role = 'operator' | 'viewer';

/** Both roles, the stronger first. */
export const ROLES = ['operator', 'viewer'] as const satisfies readonly Role[];

/** Who made a request, once logged in: the role, and whether by a browser session (which has a logout). */
export interface Who {
  role: Role;
  session: boolean;
}
