/**
 * Scaffolder actions that call AWS with SigV4 through proxy-sigv4: `aws:sigv4:request` and
 * `aws:bootstrap:terraform-state`.
 *
 * `backend.add(import('backstage-plugin-scaffolder-backend-module-proxy-sigv4'))`
 *
 * @packageDocumentation
 */
export { scaffolderModuleProxySigV4 as default } from './module';
export { createSigV4RequestAction } from './actions/sigv4-request';
export { createTerraformStateAction } from './actions/terraform-state';
