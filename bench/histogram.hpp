// bench/histogram.hpp: a log-linear latency histogram (32 sub-buckets per power of two,
// so a percentile is off by at most 1/32 of its value), fixed-size so that a worker can
// fill it in shared memory and the parent can merge it. Values are TSC ticks.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace shmtable::bench {

struct Histogram {
  static constexpr unsigned kSubBits = 5;
  // Exact buckets 0..63, then 32 per power of two from 2^6 to 2^63: index() < 1920.
  static constexpr std::size_t kBuckets = (65 - kSubBits) << kSubBits;

  std::array<std::uint64_t, kBuckets> counts{};

  // Values below 64 have a bucket each; above, a bucket spans 1/32 of its power of two.
  static std::size_t index(std::uint64_t v) {
    if (v < (std::uint64_t{2} << kSubBits)) {
      return static_cast<std::size_t>(v);
    }
    const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));
    return (std::size_t{e - kSubBits} << kSubBits) + static_cast<std::size_t>(v >> (e - kSubBits));
  }
  // The middle of bucket i (the inverse of index()).
  static double value(std::size_t i) {
    if (i < (std::size_t{2} << kSubBits)) {
      return static_cast<double>(i);
    }
    const unsigned e = static_cast<unsigned>(i >> kSubBits) + kSubBits - 1;
    const std::uint64_t mantissa = (std::uint64_t{1} << kSubBits) | (i & ((1u << kSubBits) - 1));
    const double low = static_cast<double>(mantissa << (e - kSubBits));
    return low + static_cast<double>(std::uint64_t{1} << (e - kSubBits)) / 2;
  }

  void record(std::uint64_t v) { ++counts[index(v)]; }
  void merge(const Histogram &o) {
    for (std::size_t i = 0; i < kBuckets; ++i) {
      counts[i] += o.counts[i];
    }
  }
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (const auto c : counts) {
      n += c;
    }
    return n;
  }
  // The value at quantile q (0..1), in ticks; 0 if empty.
  double quantile(double q) const {
    const std::uint64_t n = total();
    if (n == 0) {
      return 0;
    }
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) {
        return value(i);
      }
    }
    return value(kBuckets - 1);
  }
};

} // namespace shmtable::bench
