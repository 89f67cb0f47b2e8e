'use strict';
// A root lifecycle service that a test holds on to (plugin tests provide it as
// coreServices.rootLifecycle): a backend whose startup fails is never returned by
// startTestBackend, yet its HTTP server is already listening; shutting this down closes it.

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

module.exports = { TestRootLifecycle };
