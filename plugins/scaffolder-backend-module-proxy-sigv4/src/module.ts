import { createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { awsSigV4ServiceRef } from 'backstage-plugin-proxy-sigv4-node';
import { createSigV4RequestAction } from './actions/sigv4-request';
import { createTerraformStateAction } from './actions/terraform-state';

/** Adds the proxy-sigv4 actions to the scaffolder, on the AWS SigV4 service of the node library. */
export const scaffolderModuleProxySigV4 = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'proxy-sigv4',
  register(env) {
    env.registerInit({
      deps: { scaffolder: scaffolderActionsExtensionPoint, aws: awsSigV4ServiceRef },
      async init({ scaffolder, aws }) {
        scaffolder.addActions(createSigV4RequestAction(aws), createTerraformStateAction(aws));
      },
    });
  },
});
