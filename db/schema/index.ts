export * from './auth';
export * from './organizations';
export * from './audit';
export * from './platform';
export * from './key-material';
export * from './proxy-configs';
export * from './tenant-configs';
export * from './checks';
