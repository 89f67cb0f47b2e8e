import type { Config } from '@backstage/config';
import * as native from 'proxy-sigv4-native';
import { SigV4Proxy } from 'proxy-sigv4-native';
import { CredentialChoices, sessionNameFor } from './identity';
import type { SigningIdentity } from './identity';
import { CLUSTER_HEADER, EKS_PRESIGN_SECONDS, eksTokenOf, getCallerIdentityUrl } from './eks-token';
import { bodyBytes, fetchThroughRoute } from './route-fetch';
import type {
  AwsSigV4Service,
  EksToken,
  EksTokenOptions,
  PresignableRequest,
  PresignOptions,
  RouteRequestInit,
  SignableRequest,
  SignOptions,
} from './types';

/**
 * The service on the addon: its `SigV4Proxy` over the `proxysigv4` routes (checked when built,
 * so a bad config fails at startup naming the route and key) and its process-wide credential
 * caches and connection pools, which the proxy plugin's routes share.
 */
export class DefaultAwsSigV4Service implements AwsSigV4Service {
  static fromConfig(config: Config, options: { pluginId: string }): DefaultAwsSigV4Service {
    const proxy = new SigV4Proxy(config.getOptional('proxysigv4') ?? null);
    const allowed = config.getOptionalStringArray('proxysigv4.signer.allowedRoles') ?? [];
    return new DefaultAwsSigV4Service(proxy, new CredentialChoices(new Set(allowed), sessionNameFor(options.pluginId)));
  }

  constructor(
    private readonly proxy: SigV4Proxy,
    private readonly choices: CredentialChoices,
  ) {}

  async sign(request: SignableRequest, options: SignOptions = {}): Promise<Record<string, string>> {
    const identity = this.choices.identityFor(options);
    const input = {
      method: request.method ?? 'GET',
      url: request.url,
      headers: request.headers,
      body: bodyBytes(request.body),
      service: options.service,
      region: options.region,
      regionSet: options.regionSet,
    };
    if ('route' in identity) return this.proxy.signRequest(identity.route, input);
    return native.signRequest({ ...input, ...identity.role });
  }

  async presign(request: PresignableRequest, options: PresignOptions): Promise<string> {
    return this.presignAs(this.choices.identityFor(options), {
      method: request.method ?? 'GET',
      url: request.url,
      headers: request.headers,
      expiresIn: options.expiresIn,
      signingTime: options.signingDate?.getTime(),
      service: options.service,
      region: options.region,
    });
  }

  fetch(route: string, path: string, init?: RouteRequestInit): Promise<Response> {
    return fetchThroughRoute(this.proxy, route, path, init);
  }

  async eksToken(cluster: string, options: EksTokenOptions = {}): Promise<EksToken> {
    const identity = this.choices.identityFor(options);
    const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const signedAt = options.signingDate ?? new Date();
    const url = await this.presignAs(identity, {
      method: 'GET',
      url: getCallerIdentityUrl(region),
      headers: { [CLUSTER_HEADER]: cluster },
      expiresIn: EKS_PRESIGN_SECONDS,
      signingTime: signedAt.getTime(),
      service: 'sts',
      region,
    });
    return eksTokenOf(url, signedAt);
  }

  private presignAs(identity: SigningIdentity, input: native.PresignRequestInput): Promise<string> {
    if ('route' in identity) return this.proxy.presignRequest(identity.route, input);
    return native.presignRequest({ ...input, ...identity.role });
  }
}
