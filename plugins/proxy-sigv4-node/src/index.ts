/**
 * AWS Signature Version 4 for Backstage backend plugins: declare `awsSigV4ServiceRef` in a
 * plugin's deps to sign, presign, fetch through `proxysigv4` routes and get EKS tokens, on the
 * same credential caches and pooled client as the proxy-sigv4 backend plugin.
 *
 * @packageDocumentation
 */
export { awsSigV4ServiceRef } from './service-ref';
export { DefaultAwsSigV4Service } from './service';
export type {
  AwsSigV4Service,
  CredentialChoice,
  EksToken,
  EksTokenOptions,
  MultiRegionSigning,
  PresignableRequest,
  PresignOptions,
  RouteRequestBody,
  RouteRequestInit,
  SignableRequest,
  SigningScope,
  SignOptions,
} from './types';
