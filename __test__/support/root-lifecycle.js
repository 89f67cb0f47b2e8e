'use strict';
// A root lifecycle service that a test holds on to (plugin tests provide it as
// coreServices.rootLifecycle): a backend whose startup fails is never returned by
// startTestBackend, yet its HTTP server is already listening; shutting this down closes it.
// startTestBackendClosingOnFailure does that for a test.

class TestRootLifecycle {
  #startup = [];
  #beforeShutdown = [];
  #shutdown = [];
  #stopped = false;

  addStartupHook(hook) {
    this.#startup.push(hook);
  }
  addBeforeShutdownHook(hook) {
    this.#beforeShutdown.push(hook);
  }
  addShutdownHook(hook) {
    this.#shutdown.push(hook);
  }
  async startup() {
    for (const hook of this.#startup) await hook();
  }
  async beforeShutdown() {
    for (const hook of this.#beforeShutdown.splice(0)) await hook();
  }
  async shutdown() {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const hook of this.#shutdown.splice(0)) await hook();
  }
}

/**
 * startTestBackend with `features`, and a TestRootLifecycle as coreServices.rootLifecycle that
 * closes the HTTP server when startup fails (the failed backend is never returned to stop).
 * `cleanup` runs after such a failure too, e.g. to close a database the test made.
 */
async function startTestBackendClosingOnFailure(features, { cleanup } = {}) {
  const { coreServices, createServiceFactory } = require('@backstage/backend-plugin-api');
  const { startTestBackend } = require('@backstage/backend-test-utils');
  const lifecycle = new TestRootLifecycle();
  const rootLifecycle = createServiceFactory({ service: coreServices.rootLifecycle, deps: {}, factory: () => lifecycle });
  try {
    return await startTestBackend({ features: [...features, rootLifecycle] });
  } catch (error) {
    await lifecycle.beforeShutdown();
    await lifecycle.shutdown();
    await cleanup?.();
    throw error;
  }
}

module.exports = { TestRootLifecycle, startTestBackendClosingOnFailure };
