import { InputError, NotAllowedError } from '@backstage/errors';
import type { CredentialChoice } from './types';

/** Who signs, once the choice is checked: a route's credentials, or the default chain (or a role from it). */
export type SigningIdentity =
  | { route: string }
  | { role?: { roleArn: string; roleSessionName: string } };

/**
 * Checks a caller's credential choice against config. A role must be listed in
 * `proxysigv4.signer.allowedRoles`: other code must not be able to reach any role the backend's
 * own identity can assume. The refusal does not repeat the ARN (it names an account).
 */
export class CredentialChoices {
  constructor(
    private readonly allowedRoles: ReadonlySet<string>,
    /** The default session name, so CloudTrail tells which plugin assumed the role. */
    private readonly defaultSessionName: string,
  ) {}

  identityFor(choice: CredentialChoice = {}): SigningIdentity {
    const { route, roleArn, roleSessionName } = choice;
    if (route !== undefined && roleArn !== undefined) {
      throw new InputError('choose either route or roleArn, not both');
    }
    if (route !== undefined) return { route };
    if (roleArn === undefined) {
      if (roleSessionName !== undefined) throw new InputError('roleSessionName needs a roleArn');
      return {};
    }
    if (!this.allowedRoles.has(roleArn)) {
      throw Object.assign(new NotAllowedError('roleArn is not in proxysigv4.signer.allowedRoles'), { code: 'ROLE_NOT_ALLOWED' });
    }
    return { role: { roleArn, roleSessionName: roleSessionName ?? this.defaultSessionName } };
  }
}

/** `backstage-<pluginId>`, cut to STS's 64 characters. Plugin ids are already valid session-name text. */
export function sessionNameFor(pluginId: string): string {
  return `backstage-${pluginId}`.slice(0, 64);
}
