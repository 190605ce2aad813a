import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { readSloEngineCatalogOptions } from './options';
import { SloEngineDependencyProcessor } from './SloEngineDependencyProcessor';

/**
 * The catalog module: adds the dependencies slo-engine observed as `dependsOn` /
 * `dependencyOf` relations. Without `sloEngine.baseUrl` in app-config it adds nothing
 * (and says so once).
 * @public
 */
export const catalogModuleSloEngine = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'slo-engine',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ catalog, config, logger }) {
        const options = readSloEngineCatalogOptions(config);
        if (!options) {
          logger.warn('sloEngine.baseUrl is not configured: no observed relations are added');
          return;
        }
        if (!options.enabled) {
          logger.info('sloEngine.catalog.enabled is false: no observed relations are added');
          return;
        }
        catalog.addProcessor(new SloEngineDependencyProcessor(options, logger));
        logger.info(
          `adding observed relations from slo-engine at ${options.baseUrl} ` +
            `(sources ${options.sources.join(', ')}; kinds ${options.kinds.join(', ')})`,
        );
      },
    });
  },
});
