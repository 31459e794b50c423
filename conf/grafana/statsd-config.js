/*
 * The npm statsd daemon's config for polymm (statsd 0.9.0, as scripts/install-statsd.sh pins).
 * The Grafana dashboard's queries assume exactly this Graphite layout:
 *   counters  stats.counters.<name>.count | .rate
 *   timers    stats.timers.<name>.upper_50 | upper_99 | mean_99 | median | ...
 *   gauges    stats.gauges.<name>
 * legacyNamespace must be false: the daemon's own default (true) puts counters at
 * stats.<name> / stats_counts.<name> instead. Run it with
 *   node .statsd/node_modules/statsd/stats.js conf/grafana/statsd-config.js
 */
{
  port: 8125,
  address: "127.0.0.1",
  mgmt_port: 8126,
  mgmt_address: "127.0.0.1",
  backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1",
  graphitePort: 2003,
  graphite: { legacyNamespace: false, globalPrefix: "stats" },
  flushInterval: 10000,
  percentThreshold: [50, 99],
  deleteIdleStats: true
}
