import fc from 'fast-check';
import * as lib from '../src/index.js';
import { NODE_PROPERTY_BUDGET, sealProperties } from './kat/property-suite.js';

describe('sealed blob properties (fast-check) in Node', () => {
  for (const [name, run] of Object.entries(sealProperties(lib, fc, NODE_PROPERTY_BUDGET))) {
    it(name, () => {
      expect(run()).toBeGreaterThan(0);
    });
  }
});
