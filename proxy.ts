import { NextResponse, type NextRequest } from 'next/server';

/**
 * Next.js request interceptor (Next 16 names it proxy.ts; unrelated to the Tenant Security Proxy). Next answers a
 * malformed percent-escape in a dynamic route segment (e.g. /invite/%ZZ) with a 500 while decoding the params;
 * such a URL is the client's mistake, so it gets a 400 here before routing.
 */
export function proxy(request: NextRequest) {
  try {
    decodeURIComponent(request.nextUrl.pathname);
  } catch {
    return new NextResponse('Bad request: malformed percent-encoding in the URL path\n', {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  return NextResponse.next();
}

export const config = { matcher: '/((?!_next/static|_next/image|favicon.ico).*)' };
