// kernels/cuda/views.cu on the emulator, directly: strided view → strided view copies and fills
// for 1/2/4/8-byte elements, against a host loop that applies the same writes to a copy of the
// destination buffer. The whole destination buffer is compared, so a write outside the view (or
// an element of the view left unwritten) fails; launches at 32/256/1024 threads under the three
// schedules.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cuda/views.cuh"
#include "tests/support/dev_array.h"

namespace lethe::kemu {
namespace {

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 7}};

struct View {
  std::vector<int64_t> shape, src_strides, dst_strides;
  int64_t src_offset, dst_offset;
  size_t src_elems, dst_elems;  // buffer sizes (elements) covering each view
  const char* what;
};

// The views device-resident tensors produce: a transpose, a slice written into a larger
// buffer (concat), a broadcast source (stride 0), size-1 dimensions, rank 8, and one element.
std::vector<View> views() {
  return {
      {{5, 7}, {1, 5}, {7, 1}, 0, 0, 35, 35, "transpose 5x7"},
      {{3, 4, 6},
       {24, 6, 1},
       {4 * 10, 10, 1},
       0,
       3,
       72,
       3 * 4 * 10,
       "concat slice of width 6 at 3"},
      {{4, 9}, {0, 1}, {9, 1}, 2, 0, 11, 36, "broadcast rows (stride 0)"},
      {{1, 6, 1, 5}, {30, 5, 5, 1}, {1, 1, 30, 6}, 1, 2, 31, 33, "size-1 dims, permuted dst"},
      {{2, 1, 2, 1, 2, 3, 1, 2},
       {48, 48, 24, 24, 12, 4, 2, 1},
       {1, 2, 2, 4, 4, 8, 24, 24},
       0,
       0,
       96,
       48,
       "rank 8"},
      {{1}, {1}, {1}, 7, 4, 8, 9, "one element"},
      {{33, 65}, {65, 1}, {1, 40}, 0, 5, 33 * 65, 5 + 40 * 65, "tall transpose into padded rows"},
  };
}

template <class T>
std::vector<T> pattern(size_t n, uint64_t salt) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ salt;
    std::memcpy(&v[i], &x, sizeof(T));
  }
  return v;
}

// Calls f(src_index, dst_index) for every element of the view, in row-major order.
template <class F>
void for_each_element(const View& v, F f) {
  int64_t n = 1;
  for (int64_t s : v.shape) n *= s;
  const auto rank = static_cast<int64_t>(v.shape.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, so = v.src_offset, d = v.dst_offset;
    for (int64_t k = rank - 1; k >= 0; --k) {
      const int64_t idx = rem % v.shape[k];
      rem /= v.shape[k];
      so += idx * v.src_strides[k];
      d += idx * v.dst_strides[k];
    }
    f(so, d);
  }
}

template <class T>
void check_copy_and_fill() {
  for (const View& v : views()) {
    CAPTURE(v.what);
    CAPTURE(sizeof(T));
    const std::vector<T> src = pattern<T>(v.src_elems, 1), dst0 = pattern<T>(v.dst_elems, 2);
    std::vector<T> want_copy = dst0, want_fill = dst0;
    const std::vector<T> value = pattern<T>(1, 3);
    uint64_t bits = 0;
    std::memcpy(&bits, &value[0], sizeof(T));
    for_each_element(v, [&](int64_t s, int64_t d) {
      want_copy[static_cast<size_t>(d)] = src[static_cast<size_t>(s)];
      want_fill[static_cast<size_t>(d)] = value[0];
    });
    DevArray<T> dsrc(src), ddst(v.dst_elems);
    for (auto sched : kSchedules) {
      ScheduleGuard g(sched);
      for (int threads : {32, 256, 1024}) {
        CAPTURE(threads);
        ddst.put(dst0);
        view_copy(dsrc.p, v.src_strides.data(), v.src_offset, ddst.p, v.dst_strides.data(),
                  v.dst_offset, v.shape.data(), static_cast<int>(v.shape.size()),
                  static_cast<int>(sizeof(T)), threads);
        CHECK(ddst.get() == want_copy);
        ddst.put(dst0);
        view_fill(ddst.p, v.dst_strides.data(), v.dst_offset, v.shape.data(),
                  static_cast<int>(v.shape.size()), static_cast<int>(sizeof(T)), bits, threads);
        CHECK(ddst.get() == want_fill);
      }
    }
  }
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("emu views: strided copy and fill write exactly the view, for every element size") {
    check_copy_and_fill<uint8_t>();
    check_copy_and_fill<uint16_t>();
    check_copy_and_fill<uint32_t>();
    check_copy_and_fill<uint64_t>();
  }

  TEST_CASE("emu views: a rank above 8 or an unknown element size is refused") {
    std::vector<int64_t> shape(9, 1), strides(9, 1);
    DevArray<uint32_t> a(4), b(4);
    CHECK_THROWS(view_copy(a.p, strides.data(), 0, b.p, strides.data(), 0, shape.data(), 9, 4));
    CHECK_THROWS(view_fill(b.p, strides.data(), 0, shape.data(), 1, 3, 0));
  }
}

}  // namespace lethe::kemu
