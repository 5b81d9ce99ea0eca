import type { FastifyPluginAsync } from 'fastify';

/** Liveness and readiness for load balancers and orchestrators; no authentication. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await app.core.store.ping();
      return { status: 'ready' };
    } catch (e) {
      request.log.warn({ err: e }, 'store not reachable');
      return reply.code(503).send({ status: 'unavailable', reason: 'the directory store is not reachable' });
    }
  });
};
