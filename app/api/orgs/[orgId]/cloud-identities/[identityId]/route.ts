import { scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { removeCloudIdentity } from '@/lib/server/vendor-settings';

export const DELETE = route(async (_request, ctx) => {
  await removeCloudIdentity(await scopeFromRoute(ctx, 'vendor'), ctx.params.identityId ?? '');
  return new Response(null, { status: 204 });
});
