import { readCookie, requestMetaFromHeaders } from '@/lib/server/session';

describe('request parsing', () => {
  it('reads one cookie among many and survives malformed encodings', () => {
    const headers = new Headers({ cookie: 'a=1; authjs.session-token=abc%2Fdef; b=2' });
    expect(readCookie(headers, 'authjs.session-token')).toBe('abc/def');
    expect(readCookie(headers, 'missing')).toBeUndefined();
    expect(readCookie(new Headers({ cookie: 'authjs.session-token=%E0%A4%A' }), 'authjs.session-token')).toBeUndefined();
    expect(readCookie(new Headers(), 'x')).toBeUndefined();
  });

  it('takes the first X-Forwarded-For hop as client IP and bounds lengths', () => {
    expect(requestMetaFromHeaders(new Headers({ 'x-forwarded-for': '198.51.100.1, 10.0.0.1', 'user-agent': 'ua' }))).toEqual({
      ip: '198.51.100.1',
      userAgent: 'ua',
    });
    expect(requestMetaFromHeaders(new Headers({ 'user-agent': 'u'.repeat(900) })).userAgent).toHaveLength(500);
    expect(requestMetaFromHeaders(new Headers())).toEqual({ ip: null, userAgent: null });
  });
});
