// The padded size the server's default buckets (batching.buckets: 8, 16, 32, 64, 128) give a
// problem of `stops` stops, for the model tests that pad problems as the batcher would; a
// problem above the largest keeps its own size.
#pragma once

namespace routeserve::model {

inline int DefaultBucketFor(int stops) {
  for (const int bucket : {8, 16, 32, 64, 128}) {
    if (stops <= bucket) return bucket;
  }
  return stops;
}

}  // namespace routeserve::model
