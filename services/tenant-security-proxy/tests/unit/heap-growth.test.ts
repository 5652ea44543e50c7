import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/heap-growth.js';

test('the proxy bounds old-generation growth unless the operator chose a --heap-growing-percent', () => {
  expect(heapGrowthFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  expect(heapGrowthFlag(['--enable-source-maps'])).toBe('--heap-growing-percent=50');
  expect(heapGrowthFlag(['--heap-growing-percent=80'])).toBeUndefined();
  expect(heapGrowthFlag(['--heap_growing_percent=20'])).toBeUndefined();
  expect(heapGrowthFlag(['--heap-growing-percent'])).toBeUndefined();
});
