/**
 * The public entry of the adapters module. Importing it registers the built-in adapters;
 * another adapter plugs in with `registerAdapter(defineAdapter({...}))`.
 */
import { arcgisAllServicesAdapter } from './arcgis/all-services.js';
import { arcgisDeploymentAdapter } from './arcgis/deployment.js';
import { cloudFoundryRestageAdapter } from './cloudfoundry/restage.js';
import { registerAdapter } from './registry.js';

registerAdapter(arcgisDeploymentAdapter);
registerAdapter(arcgisAllServicesAdapter);
registerAdapter(cloudFoundryRestageAdapter);

export type * from './types.js';
export { defineAdapter, type AdapterDefinition, type AdapterRun } from './adapter-run.js';
export { createRestartContext, sleepWithSignal } from './context.js';
export { RestartError } from './errors.js';
export { redactRestartConfig } from './redact.js';
export {
  adapterNames,
  commonRestartConfigSchema,
  formatIssues,
  getAdapter,
  parseRestartConfig,
  registerAdapter,
  restartConfigSchema,
  RestartConfigError,
  runRestart,
  safeParseRestartConfig,
  type RestartConfigIssue,
  type RestartConfigParseResult,
} from './registry.js';
export { arcgisAllServicesAdapter, arcgisDeploymentAdapter, cloudFoundryRestageAdapter };
