-- wrk: one machine-readable line at the end (requests/s and p99 in ms).
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p99_ms=%.3f p50_ms=%.3f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
    latency:percentile(50) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
