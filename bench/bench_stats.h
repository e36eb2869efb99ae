// Small statistics shared by the benchmarks.
#pragma once

#include <algorithm>
#include <vector>

namespace maskfill {

// The p-quantile (0..1) by the nearest-rank rule; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

}  // namespace maskfill
