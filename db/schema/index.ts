export * from './auth';
export * from './organizations';
export * from './audit';
export * from './platform';
