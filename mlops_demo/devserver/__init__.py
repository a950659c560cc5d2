"""Running Dagster's processes for the commands, the tests and the benchmarks: process groups,
`dagster dev` driven through its GraphQL API, and the three-process production topology."""
