/** The process harness the tests share with the benchmark. */
export * from '../../bench/harness';
