// safetensors I/O: round trips, exact F16/BF16 decoding, the shared golden file, and one test per
// rejection rule (crafted in memory), plus a truncation / corruption smoke test under ASan.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace fs = std::filesystem;
using namespace lethe::io;

namespace {

// An image: 8-byte LE header length, the header text as given, then the data bytes.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> b;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(n >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The lethe::Error message from parsing `b`, or "" if it parsed. Any other exception fails.
std::string parse_error(const std::vector<uint8_t>& b, const std::string& what = "mem.st") {
  try {
    parse_safetensors(b.data(), b.size(), what);
  } catch (const lethe::Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& msg, const std::string& part) {
  return msg.find(part) != std::string::npos;
}

// Checks that parsing is rejected with a one-line message naming the source and every part.
void check_rejected(const std::vector<uint8_t>& b, const std::vector<std::string>& parts) {
  const std::string msg = parse_error(b);
  INFO("message: ", msg);
  REQUIRE(!msg.empty());
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(has(msg, "mem.st"));
  for (const auto& p : parts) CHECK(has(msg, p));
}

std::vector<uint8_t> zeros(size_t n) {
  return std::vector<uint8_t>(n, 0);
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A fresh temp directory, removed on scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("lethe_st_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

SafetensorsFile sample_file() {
  SafetensorsFile f;
  const float w[6] = {1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f};
  const int64_t idx[3] = {-1, 0, 1LL << 40};
  const uint8_t mask[5] = {0, 1, 255, 7, 128};
  f.tensors["w"] = from_f32({2, 3}, w);
  f.tensors["idx"] = from_i64({3}, idx);
  f.tensors["mask"] = from_u8({5}, mask);
  f.tensors["scalar"] = from_f32({}, w + 3);
  f.tensors["empty"] = from_f32({0, 4}, nullptr);
  f.metadata["format"] = "pt";
  f.metadata["note"] = "round trip \"quoted\" \xc3\xa9";
  return f;
}

StTensor raw16(StDType dt, const std::vector<uint16_t>& v) {
  StTensor t;
  t.dtype = dt;
  t.shape = {static_cast<int64_t>(v.size())};
  for (uint16_t x : v) {
    t.data.push_back(static_cast<uint8_t>(x & 0xff));  // little-endian, by hand
    t.data.push_back(static_cast<uint8_t>(x >> 8));
  }
  return t;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("safetensors: dtype names and sizes") {
    CHECK(std::string(st_dtype_name(StDType::BF16)) == "BF16");
    CHECK(std::string(st_dtype_name(StDType::BOOL)) == "BOOL");
    CHECK(st_dtype_size(StDType::F64) == 8);
    CHECK(st_dtype_size(StDType::F16) == 2);
    CHECK(st_dtype_size(StDType::I32) == 4);
    CHECK(st_dtype_size(StDType::U8) == 1);
  }

  TEST_CASE("safetensors: round trip F32/I64/U8 with metadata, in memory and on disk") {
    const SafetensorsFile f = sample_file();
    const std::vector<uint8_t> bytes = serialize_safetensors(f);

    // Layout: header padded with spaces to an 8-byte data start, metadata first, names sorted.
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    CHECK((8 + n) % 8 == 0);
    const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
    CHECK(header.rfind("{\"__metadata__\"", 0) == 0);
    CHECK(header.find("\"empty\"") < header.find("\"idx\""));
    CHECK(header.find("\"idx\"") < header.find("\"mask\""));
    CHECK(header.find("\"mask\"") < header.find("\"scalar\""));
    CHECK(header.find("\"scalar\"") < header.find("\"w\""));
    const size_t close = header.find_last_of('}');
    CHECK(header.find_first_not_of(' ', close + 1) == std::string::npos);

    auto check_same = [&](const SafetensorsFile& g) {
      CHECK(g.metadata == f.metadata);
      REQUIRE(g.tensors.size() == f.tensors.size());
      for (const auto& [name, t] : f.tensors) {
        INFO("tensor ", name);
        const StTensor& u = g.tensors.at(name);
        CHECK(u.dtype == t.dtype);
        CHECK(u.shape == t.shape);
        CHECK(u.data == t.data);
      }
      const std::vector<float> w = to_f32(g.tensors.at("w"), "w");
      CHECK(w == std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f});
      CHECK(std::signbit(w[4]));
      CHECK(to_i64(g.tensors.at("idx"), "idx") == std::vector<int64_t>{-1, 0, 1LL << 40});
      CHECK(to_i64(g.tensors.at("mask"), "mask") == std::vector<int64_t>{0, 1, 255, 7, 128});
      CHECK(g.tensors.at("scalar").numel() == 1);
      CHECK(to_f32(g.tensors.at("scalar"), "scalar") == std::vector<float>{3.25f});
      CHECK(g.tensors.at("empty").numel() == 0);
      CHECK(to_f32(g.tensors.at("empty"), "empty").empty());
    };
    check_same(parse_safetensors(bytes.data(), bytes.size(), "mem"));

    TempDir dir;
    const fs::path p = dir.path / "rt.safetensors";
    write_safetensors(p.string(), f);
    CHECK(read_bytes(p) == bytes);
    check_same(read_safetensors(p.string()));
    // No temporary left beside the result.
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
    // Overwriting an existing file works.
    SafetensorsFile small;
    const float one = 1.0f;
    small.tensors["x"] = from_f32({1}, &one);
    write_safetensors(p.string(), small);
    CHECK(read_safetensors(p.string()).tensors.size() == 1);
  }

  TEST_CASE("safetensors: an empty file set round trips") {
    const SafetensorsFile f;
    const std::vector<uint8_t> b = serialize_safetensors(f);
    CHECK(b.size() % 8 == 0);
    const SafetensorsFile g = parse_safetensors(b.data(), b.size(), "empty");
    CHECK(g.tensors.empty());
    CHECK(g.metadata.empty());
  }

  TEST_CASE("safetensors: F16 decoding of known values") {
    const float inf = std::numeric_limits<float>::infinity();
    const StTensor t = raw16(StDType::F16, {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x8000, 0x7C00,
                                            0xFC00, 0x7E00, 0x0400});
    const std::vector<float> v = to_f32(t, "h");
    REQUIRE(v.size() == 10);
    CHECK(v[0] == 1.0f);
    CHECK(v[1] == -2.5f);
    CHECK(v[2] == 65504.0f);
    CHECK(v[3] == std::ldexp(1.0f, -24));         // smallest subnormal
    CHECK(v[4] == std::ldexp(1023.0f, -24));      // largest subnormal
    CHECK((v[5] == 0.0f && std::signbit(v[5])));  // -0
    CHECK(v[6] == inf);
    CHECK(v[7] == -inf);
    CHECK(std::isnan(v[8]));
    CHECK(v[9] == std::ldexp(1.0f, -14));  // smallest normal
  }

  TEST_CASE("safetensors: BF16 decoding of known values") {
    const float inf = std::numeric_limits<float>::infinity();
    const StTensor t =
        raw16(StDType::BF16, {0x3F80, 0xC020, 0x477F, 0x0001, 0x7F80, 0xFF80, 0x7FC0, 0x8000});
    const std::vector<float> v = to_f32(t, "b");
    REQUIRE(v.size() == 8);
    CHECK(v[0] == 1.0f);
    CHECK(v[1] == -2.5f);
    CHECK(v[2] == 65280.0f);                // 0x477F: 1.9921875 * 2^15
    CHECK(v[3] == std::ldexp(1.0f, -133));  // smallest bf16 subnormal
    CHECK(v[3] > 0.0f);
    CHECK(v[4] == inf);
    CHECK(v[5] == -inf);
    CHECK(std::isnan(v[6]));
    CHECK((v[7] == 0.0f && std::signbit(v[7])));
  }

  TEST_CASE("safetensors: F64 and narrow integer conversions") {
    StTensor d;
    d.dtype = StDType::F64;
    d.shape = {2};
    const double dv[2] = {0.1, -1e300};
    d.data.resize(16);
    std::memcpy(d.data.data(), dv, 16);
    const std::vector<float> f = to_f32(d, "d");
    CHECK(f[0] == 0.1f);
    CHECK(std::isinf(f[1]));

    StTensor i8;
    i8.dtype = StDType::I8;
    i8.shape = {3};
    i8.data = {0x80, 0xFF, 0x7F};
    CHECK(to_i64(i8, "i8") == std::vector<int64_t>{-128, -1, 127});

    StTensor i16;
    i16.dtype = StDType::I16;
    i16.shape = {2};
    i16.data = {0x00, 0x80, 0x34, 0x12};
    CHECK(to_i64(i16, "i16") == std::vector<int64_t>{-32768, 0x1234});

    StTensor i32;
    i32.dtype = StDType::I32;
    i32.shape = {1};
    i32.data = {0xFE, 0xFF, 0xFF, 0xFF};
    CHECK(to_i64(i32, "i32") == std::vector<int64_t>{-2});

    StTensor b;
    b.dtype = StDType::BOOL;
    b.shape = {3};
    b.data = {1, 0, 1};
    CHECK(to_i64(b, "flags") == std::vector<int64_t>{1, 0, 1});
    b.data[1] = 2;
    CHECK_THROWS_AS(to_i64(b, "flags"), lethe::Error);
  }

  TEST_CASE("safetensors: conversions reject the wrong dtype kind, naming the tensor") {
    const int64_t i[2] = {1, 2};
    const float x[2] = {1, 2};
    try {
      to_f32(from_i64({2}, i), "labels");
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "labels"));
      CHECK(has(e.what(), "I64"));
    }
    try {
      to_i64(from_f32({2}, x), "weights");
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "weights"));
      CHECK(has(e.what(), "F32"));
    }
    // A tensor whose byte count disagrees with its shape is refused, not read past.
    StTensor bad = from_f32({2}, x);
    bad.data.pop_back();
    CHECK_THROWS_AS(to_f32(bad, "bad"), lethe::Error);
    CHECK_THROWS_AS(serialize_safetensors(SafetensorsFile{{{"bad", bad}}, {}}), lethe::Error);
    CHECK_THROWS_AS(from_f32({-1, 2}, x), lethe::Error);
  }

  TEST_CASE("safetensors: the shared golden ops file") {
    const SafetensorsFile g = read_safetensors(LETHE_TEST_DATA_DIR "/golden/ops.safetensors");
    REQUIRE(g.metadata.count("manifest") == 1);
    const nlohmann::json manifest = nlohmann::json::parse(g.metadata.at("manifest"));
    CHECK(manifest.is_object());
    CHECK(!manifest.empty());

    const StTensor& w = g.tensors.at("conv2d.0.w");
    CHECK(w.dtype == StDType::F32);
    CHECK(w.shape == std::vector<int64_t>{8, 3, 3, 3});
    CHECK(to_f32(w, "conv2d.0.w").size() == 8 * 3 * 3 * 3);

    const StTensor& tgt = g.tensors.at("cross_entropy.mean.target");
    CHECK(tgt.dtype == StDType::I64);
    CHECK(tgt.shape == std::vector<int64_t>{7});
    CHECK(to_i64(tgt, "cross_entropy.mean.target").size() == 7);

    // Rewriting it in our canonical layout and reading it back preserves everything.
    const std::vector<uint8_t> b = serialize_safetensors(g);
    const SafetensorsFile h = parse_safetensors(b.data(), b.size(), "rewritten");
    CHECK(h.metadata == g.metadata);
    REQUIRE(h.tensors.size() == g.tensors.size());
    for (const auto& [name, t] : g.tensors) {
      CHECK(h.tensors.at(name).data == t.data);
      CHECK(h.tensors.at(name).shape == t.shape);
    }
  }

  TEST_CASE("safetensors: reject files shorter than 8 bytes") {
    check_rejected({}, {"8-byte"});
    check_rejected({1, 0, 0, 0, 0}, {"8-byte"});
  }

  TEST_CASE("safetensors: reject a header length past the file or absurd") {
    std::vector<uint8_t> b = image("{}");
    b[0] = 200;  // claims 200 bytes of header, has 2
    check_rejected(b, {"header length 200"});
    std::vector<uint8_t> huge = image("{}");
    huge[7] = 0x01;  // 2^56
    check_rejected(huge, {"limit"});
    std::vector<uint8_t> max(8, 0xFF);  // 2^64-1: must not wrap around in the bound check
    check_rejected(max, {"limit"});
  }

  TEST_CASE("safetensors: missing, unreadable and truncated files on disk") {
    TempDir dir;
    try {
      read_safetensors((dir.path / "nope.safetensors").string());
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "nope.safetensors"));
      CHECK(has(e.what(), "cannot open"));
    }
    CHECK_THROWS_AS(read_safetensors(dir.path.string()), lethe::Error);  // a directory

    const std::vector<uint8_t> good = serialize_safetensors(sample_file());
    const fs::path p = dir.path / "trunc.safetensors";
    write_bytes(p, std::vector<uint8_t>(good.begin(), good.begin() + 5));
    try {
      read_safetensors(p.string());
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "trunc.safetensors"));
      CHECK(has(e.what(), "8-byte"));
    }
    // Cut inside the data: the last tensor ("w") runs past the end of the buffer.
    write_bytes(p, std::vector<uint8_t>(good.begin(), good.end() - 3));
    try {
      read_safetensors(p.string());
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "trunc.safetensors"));
      CHECK(has(e.what(), "'w'"));
      CHECK(has(e.what(), "past the end"));
    }
  }

  TEST_CASE("safetensors: reject malformed JSON and non-object headers") {
    check_rejected(image("{\"a\": "), {"malformed header JSON"});
    check_rejected(image(""), {"malformed header JSON"});
    check_rejected(image("{} trailing"), {"malformed header JSON"});
    check_rejected(image("{\"a\":\"\xff\"}"), {"malformed header JSON"});  // invalid UTF-8
    check_rejected(image("[1,2]"), {"not a JSON object"});
    check_rejected(image("42"), {"not a JSON object"});
    check_rejected(image("{\"a\":[[[[[[1]]]]]]}"), {"nested too deeply"});
    // Trailing space padding is fine.
    CHECK(parse_error(image("{}      ")).empty());
  }

  TEST_CASE("safetensors: reject duplicate keys") {
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                         R"("t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                         zeros(2)),
                   {"duplicate key 't'"});
  }

  TEST_CASE("safetensors: reject entries missing fields or with wrong JSON types") {
    check_rejected(image(R"({"t":5})"), {"'t'", "not a JSON object"});
    check_rejected(image(R"({"t":{"shape":[1],"data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "missing \"dtype\""});
    check_rejected(image(R"({"t":{"dtype":"U8","data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "missing \"shape\""});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1]}})", zeros(1)),
                   {"'t'", "missing \"data_offsets\""});
    check_rejected(image(R"({"t":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "\"dtype\" is not a string"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":"1","data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "\"shape\" is not an array"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "not an integer"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}})", zeros(1)),
                   {"'t'", "not an integer"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", zeros(1)),
                   {"'t'", "data_offsets"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", zeros(1)),
                   {"'t'", "data_offsets"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":"0,1"}})", zeros(1)),
                   {"'t'", "data_offsets"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", zeros(1)),
                   {"'t'", "data_offsets"});
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0.0,1]}})", zeros(1)),
                   {"'t'", "data_offsets"});
  }

  TEST_CASE("safetensors: reject negative dims and shape overflow") {
    check_rejected(image(R"({"neg":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,0]}})"),
                   {"'neg'", "negative"});
    check_rejected(
        image(R"({"big":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
        {"'big'"});
    check_rejected(
        image(R"({"ovf":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
        {"'ovf'", "overflow"});
    // numel fits in int64 but numel * 8 bytes does not.
    check_rejected(
        image(R"({"ovf8":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"),
        {"'ovf8'", "overflow"});
  }

  TEST_CASE("safetensors: reject unknown dtypes") {
    check_rejected(image(R"({"q":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", zeros(1)),
                   {"'q'", "unknown dtype 'F8_E4M3'"});
    check_rejected(image(R"({"q":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                   {"'q'", "unknown dtype"});
  }

  TEST_CASE("safetensors: reject bad data_offsets") {
    check_rejected(image(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", zeros(2)),
                   {"'t'", "begin 2 > end 1"});
    check_rejected(image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", zeros(7)),
                   {"'t'", "past the end"});
    check_rejected(
        image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})",
              zeros(4)),
        {"'t'", "past the end"});
    check_rejected(image(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", zeros(4)),
                   {"'t'", "needs 8"});
  }

  TEST_CASE("safetensors: reject overlapping ranges") {
    check_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                         zeros(6)),
                   {"'b'", "overlap", "'a'"});
    // Two tensors aliasing the same bytes.
    check_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                         zeros(4)),
                   {"overlap"});
  }

  TEST_CASE("safetensors: reject holes and trailing bytes in the data buffer") {
    check_rejected(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                         zeros(6)),
                   {"'b'", "hole of 2", "fully indexed"});
    check_rejected(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", zeros(4)),
                   {"'a'", "hole", "fully indexed"});
    check_rejected(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", zeros(5)),
                   {"3 unindexed bytes at the end", "fully indexed"});
    // Out-of-order offsets in the header are fine as long as they tile the buffer.
    CHECK(parse_error(image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                            R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                            zeros(4)))
              .empty());
  }

  TEST_CASE("safetensors: reject non-string metadata") {
    check_rejected(image(R"({"__metadata__":{"epoch":3}})"), {"'epoch'", "not a string"});
    check_rejected(image(R"({"__metadata__":{"a":"x","nested":{"b":"c"}}})"),
                   {"'nested'", "not a string"});
    check_rejected(image(R"({"__metadata__":["x"]})"), {"__metadata__", "not a JSON object"});
    CHECK(parse_error(image(R"({"__metadata__":{}})")).empty());
  }

  TEST_CASE("safetensors: writes fail cleanly and never clobber an existing file") {
    TempDir dir;
    const SafetensorsFile f = sample_file();
    CHECK_THROWS_AS(write_safetensors((dir.path / "no_such_dir" / "x.safetensors").string(), f),
                    lethe::Error);

    const fs::path p = dir.path / "keep.safetensors";
    const std::vector<uint8_t> original = {'o', 'l', 'd'};
    write_bytes(p, original);

    // An invalid tensor fails before anything is written.
    SafetensorsFile bad = f;
    bad.tensors["w"].data.resize(3);
    CHECK_THROWS_AS(write_safetensors(p.string(), bad), lethe::Error);
    CHECK(read_bytes(p) == original);
    SafetensorsFile reserved = f;
    reserved.tensors["__metadata__"] = f.tensors.at("idx");
    CHECK_THROWS_AS(write_safetensors(p.string(), reserved), lethe::Error);
    CHECK(read_bytes(p) == original);

    // The temporary cannot be created (a directory squats on its name): the old file survives.
    const fs::path tmp = p.string() + ".tmp." + std::to_string(::getpid());
    fs::create_directory(tmp);
    try {
      write_safetensors(p.string(), f);
      FAIL("expected an error");
    } catch (const lethe::Error& e) {
      CHECK(has(e.what(), "keep.safetensors"));
    }
    CHECK(read_bytes(p) == original);
    fs::remove(tmp);

    // The rename fails (the target is a non-empty directory): the temporary is cleaned up.
    const fs::path d = dir.path / "is_dir";
    fs::create_directories(d / "child");
    CHECK_THROWS_AS(write_safetensors(d.string(), f), lethe::Error);
    CHECK(fs::is_directory(d / "child"));
    CHECK(!fs::exists(d.string() + ".tmp." + std::to_string(::getpid())));
  }

  TEST_CASE("safetensors: truncations and byte corruptions never crash") {
    const std::vector<uint8_t> good = serialize_safetensors(sample_file());
    int rejected = 0;
    for (size_t len = 0; len < good.size(); ++len) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(len));
      try {
        parse_safetensors(cut.data(), cut.size(), "cut");
      } catch (const lethe::Error&) {
        ++rejected;
      }
    }
    CHECK(rejected == static_cast<int>(good.size()));  // every strict prefix is invalid

    std::mt19937 rng(1234);
    std::uniform_int_distribution<size_t> pos(0, good.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 600; ++i) {
      std::vector<uint8_t> b = good;
      // Mostly the length field and header, where the parser does its work.
      const size_t at = (i % 3 == 0) ? pos(rng) : pos(rng) % std::min<size_t>(good.size(), 200);
      b[at] = static_cast<uint8_t>(byte(rng));
      try {
        const SafetensorsFile g = parse_safetensors(b.data(), b.size(), "fuzz");
        for (const auto& [name, t] : g.tensors) {
          CHECK(t.data.size() == static_cast<size_t>(t.numel()) * st_dtype_size(t.dtype));
        }
      } catch (const lethe::Error&) {
      }
    }
  }
}
