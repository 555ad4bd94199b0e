// safetensors: [u64 LE header length N][N bytes JSON header][data buffer].
// The header maps tensor name -> {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
// to the data buffer) plus an optional "__metadata__" string->string object.
// Reading validates everything before touching data: header bounds (<= 100 MB, inside the file),
// JSON shape and types, duplicate keys, known dtypes, non-negative dims without overflow, each
// tensor's byte range (ordered, in bounds, exactly numel * dtype size), and that the ranges tile
// the data buffer with no overlap, hole or trailing slack, as the spec requires. Every failure is
// a one-line lethe::Error naming the file and, where there is one, the tensor.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"

// Data are stored little-endian; on a little-endian host they are copied as-is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a LE host");

namespace lethe::io {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeader = 100'000'000;  // same bound as the reference implementation
constexpr int kMaxJsonDepth = 4;              // root / entry / field / shape element

// Names and messages come from untrusted files: keep the error one line and bounded.
std::string quote(const std::string& s) {
  std::string out = "'";
  size_t n = 0;
  for (unsigned char c : s) {
    if (++n > 200) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// A JSON value for an error message, cut short if long.
std::string brief(const nlohmann::json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

bool parse_dtype(const std::string& s, StDType* out) {
  static const std::pair<const char*, StDType> table[] = {
      {"F64", StDType::F64}, {"F32", StDType::F32},  {"F16", StDType::F16}, {"BF16", StDType::BF16},
      {"I64", StDType::I64}, {"I32", StDType::I32},  {"I16", StDType::I16}, {"I8", StDType::I8},
      {"U8", StDType::U8},   {"BOOL", StDType::BOOL}};
  for (const auto& [name, dt] : table) {
    if (s == name) {
      *out = dt;
      return true;
    }
  }
  return false;
}

// Product of dims times the element size, or false on a negative dim or overflow past int64.
bool checked_nbytes(const std::vector<int64_t>& shape, size_t elem, int64_t* numel,
                    uint64_t* nbytes) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
  }
  int64_t b = 0;
  if (__builtin_mul_overflow(n, static_cast<int64_t>(elem), &b)) return false;
  *numel = n;
  *nbytes = static_cast<uint64_t>(b);
  return true;
}

uint64_t load_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h >> 15) << 31;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in float.
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  uint32_t bits;
  if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or nan keeping its payload
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

void check_data_size(const StTensor& t, const std::string& name) {
  int64_t numel = 0;
  uint64_t nbytes = 0;
  LETHE_CHECK(checked_nbytes(t.shape, st_dtype_size(t.dtype), &numel, &nbytes),
              "safetensors tensor ", quote(name), ": invalid shape (negative dim or overflow)");
  LETHE_CHECK(t.data.size() == nbytes, "safetensors tensor ", quote(name), ": holds ",
              t.data.size(), " bytes but shape and dtype ", st_dtype_name(t.dtype), " need ",
              nbytes);
}

template <class T>
std::vector<T> load_all(const StTensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(T));
  return v;
}

StTensor make_tensor(StDType dt, const std::vector<int64_t>& shape, const void* data) {
  StTensor t;
  t.dtype = dt;
  t.shape = shape;
  int64_t numel = 0;
  uint64_t nbytes = 0;
  LETHE_CHECK(checked_nbytes(shape, st_dtype_size(dt), &numel, &nbytes),
              "safetensors: invalid shape for a new ", st_dtype_name(dt),
              " tensor (negative dim or overflow)");
  LETHE_CHECK(nbytes == 0 || data != nullptr, "safetensors: null data for a non-empty ",
              st_dtype_name(dt), " tensor");
  t.data.resize(nbytes);
  if (nbytes) std::memcpy(t.data.data(), data, nbytes);
  return t;
}

// Parses the header text, rejecting duplicate keys (the spec requires unique names and a JSON
// library would silently keep the last) and nesting deeper than a valid header can have.
json parse_header(const char* begin, const char* end, const std::string& what) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto cb = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
    LETHE_CHECK(depth <= kMaxJsonDepth, "safetensors file ", quote(what),
                ": header JSON nested too deeply");
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      LETHE_CHECK(keys.back().insert(k).second, "safetensors file ", quote(what),
                  ": duplicate key ", quote(k), " in header");
    }
    return true;
  };
  try {
    return json::parse(begin, end, cb);
  } catch (const json::exception& e) {
    LETHE_FAIL("safetensors file ", quote(what), ": malformed header JSON: ", one_line(e.what()));
  }
}

bool get_u64(const json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

struct Range {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

const char* st_dtype_name(StDType d) {
  switch (d) {
    case StDType::F64:
      return "F64";
    case StDType::F32:
      return "F32";
    case StDType::F16:
      return "F16";
    case StDType::BF16:
      return "BF16";
    case StDType::I64:
      return "I64";
    case StDType::I32:
      return "I32";
    case StDType::I16:
      return "I16";
    case StDType::I8:
      return "I8";
    case StDType::U8:
      return "U8";
    case StDType::BOOL:
      return "BOOL";
  }
  return "?";
}

size_t st_dtype_size(StDType d) {
  switch (d) {
    case StDType::F64:
    case StDType::I64:
      return 8;
    case StDType::F32:
    case StDType::I32:
      return 4;
    case StDType::F16:
    case StDType::BF16:
    case StDType::I16:
      return 2;
    case StDType::I8:
    case StDType::U8:
    case StDType::BOOL:
      return 1;
  }
  return 1;
}

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& what) {
  const std::string file = "safetensors file " + quote(what);
  LETHE_CHECK(size >= 8, file, ": only ", size, " bytes, shorter than the 8-byte header length");
  const uint64_t hlen = load_u64_le(bytes);
  LETHE_CHECK(hlen <= kMaxHeader, file, ": header length ", hlen, " exceeds the ", kMaxHeader,
              "-byte limit");
  LETHE_CHECK(hlen <= size - 8, file, ": header length ", hlen, " runs past the end of the ", size,
              "-byte file");

  const char* hbegin = reinterpret_cast<const char*>(bytes + 8);
  json header = parse_header(hbegin, hbegin + hlen, what);
  LETHE_CHECK(header.is_object(), file, ": header is not a JSON object");

  const uint8_t* buf = bytes + 8 + hlen;
  const uint64_t buflen = size - 8 - hlen;

  SafetensorsFile out;
  std::vector<Range> ranges;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      LETHE_CHECK(entry.is_object(), file, ": __metadata__ is not a JSON object");
      for (auto& [k, v] : entry.items()) {
        LETHE_CHECK(v.is_string(), file, ": __metadata__ value for key ", quote(k),
                    " is not a string");
        out.metadata.emplace(k, v.get<std::string>());
      }
      continue;
    }
    const std::string where = file + ", tensor " + quote(name);
    LETHE_CHECK(entry.is_object(), where, ": header entry is not a JSON object");

    auto dt_it = entry.find("dtype");
    LETHE_CHECK(dt_it != entry.end(), where, ": missing \"dtype\"");
    LETHE_CHECK(dt_it->is_string(), where, ": \"dtype\" is not a string");
    StTensor t;
    const std::string& dts = dt_it->get_ref<const std::string&>();
    LETHE_CHECK(parse_dtype(dts, &t.dtype), where, ": unknown dtype ", quote(dts));

    auto sh_it = entry.find("shape");
    LETHE_CHECK(sh_it != entry.end(), where, ": missing \"shape\"");
    LETHE_CHECK(sh_it->is_array(), where, ": \"shape\" is not an array");
    for (const json& d : *sh_it) {
      LETHE_CHECK(d.is_number_integer(), where, ": shape entry ", brief(d), " is not an integer");
      // Unsigned values above INT64_MAX are as invalid as negative ones.
      LETHE_CHECK(d.is_number_unsigned() ? d.get<uint64_t>() <= INT64_MAX : d.get<int64_t>() >= 0,
                  where, ": negative or oversized shape dim ", brief(d));
      t.shape.push_back(d.get<int64_t>());
    }
    int64_t numel = 0;
    uint64_t nbytes = 0;
    LETHE_CHECK(checked_nbytes(t.shape, st_dtype_size(t.dtype), &numel, &nbytes), where, ": shape ",
                brief(*sh_it), " of ", st_dtype_name(t.dtype), " overflows the int64 byte count");

    auto off_it = entry.find("data_offsets");
    LETHE_CHECK(off_it != entry.end(), where, ": missing \"data_offsets\"");
    uint64_t b = 0, e = 0;
    LETHE_CHECK(off_it->is_array() && off_it->size() == 2 && get_u64((*off_it)[0], &b) &&
                    get_u64((*off_it)[1], &e),
                where, ": \"data_offsets\" is not a pair of non-negative integers");
    LETHE_CHECK(b <= e, where, ": data_offsets begin ", b, " > end ", e);
    LETHE_CHECK(e <= buflen, where, ": data_offsets end ", e, " past the end of the ", buflen,
                "-byte data buffer");
    LETHE_CHECK(e - b == nbytes, where, ": data_offsets span ", e - b, " bytes but ",
                st_dtype_name(t.dtype), " shape ", brief(*sh_it), " needs ", nbytes);

    auto [it, inserted] = out.tensors.emplace(name, std::move(t));
    ranges.push_back({b, e, &it->first});
  }

  // The ranges must tile [0, buflen) exactly: sorted by begin, each starts where the last ended.
  std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  uint64_t cursor = 0;
  const std::string* prev = nullptr;
  for (const Range& r : ranges) {
    LETHE_CHECK(r.begin >= cursor, file, ", tensor ", quote(*r.name), ": data_offsets [", r.begin,
                ", ", r.end, ") overlap tensor ", quote(prev ? *prev : std::string()),
                " ending at ", cursor);
    LETHE_CHECK(r.begin == cursor, file, ", tensor ", quote(*r.name), ": hole of ",
                r.begin - cursor, " unindexed bytes before it at data offset ", cursor,
                " (the spec requires the data buffer to be fully indexed)");
    cursor = r.end;
    prev = r.name;
  }
  LETHE_CHECK(cursor == buflen, file, ": ", buflen - cursor,
              " unindexed bytes at the end of the data buffer (the spec requires the data buffer "
              "to be fully indexed)");

  // Only now, with every range checked, copy the bytes.
  for (const Range& r : ranges) {
    StTensor& t = out.tensors.at(*r.name);
    t.data.assign(buf + r.begin, buf + r.end);
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string file = "safetensors file " + quote(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LETHE_CHECK(fd >= 0, file, ": cannot open: ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  try {
    struct stat st {};
    LETHE_CHECK(::fstat(fd, &st) == 0, file, ": cannot stat: ", std::strerror(errno));
    LETHE_CHECK(S_ISREG(st.st_mode), file, ": not a regular file");
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      LETHE_CHECK(n >= 0, file, ": read failed: ", std::strerror(errno));
      LETHE_CHECK(n > 0, file, ": file shrank while reading (", got, " of ", bytes.size(),
                  " bytes)");
      got += static_cast<size_t>(n);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) {
    auto& meta = header["__metadata__"];
    meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    LETHE_CHECK(name != "__metadata__", "safetensors: a tensor cannot be named '__metadata__'");
    check_data_size(t, name);
    header[name] = {{"dtype", st_dtype_name(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    // Names and metadata must be valid UTF-8 to form a JSON header.
    LETHE_FAIL("safetensors: cannot encode header: ", one_line(e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data start 8 + N is then a multiple of 8

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& [name, t] : file.tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  // Serialize first so an invalid tensor never touches the file system.
  const std::vector<uint8_t> bytes = serialize_safetensors(file);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const std::string where = "safetensors file " + quote(path);

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LETHE_CHECK(fd >= 0, where, ": cannot create temporary ", quote(tmp), ": ", std::strerror(errno));
  auto fail = [&](const char* step) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    LETHE_FAIL(where, ": ", step, " failed: ", std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  const int rc = ::close(fd);
  fd = -1;
  if (rc != 0) fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");

  // Persist the rename itself; best effort, the data are already safe under one name or the other.
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<float> to_f32(const StTensor& t, const std::string& name) {
  check_data_size(t, name);
  switch (t.dtype) {
    case StDType::F32:
      return load_all<float>(t);
    case StDType::F64: {
      std::vector<double> d = load_all<double>(t);
      return std::vector<float>(d.begin(), d.end());
    }
    case StDType::F16:
    case StDType::BF16: {
      std::vector<uint16_t> h = load_all<uint16_t>(t);
      std::vector<float> v(h.size());
      const bool half = t.dtype == StDType::F16;
      for (size_t i = 0; i < h.size(); ++i) v[i] = half ? half_to_float(h[i]) : bf16_to_float(h[i]);
      return v;
    }
    default:
      LETHE_FAIL("safetensors tensor ", quote(name), ": dtype ", st_dtype_name(t.dtype),
                 " is not a float dtype (expected F32, F64, F16 or BF16)");
  }
}

std::vector<int64_t> to_i64(const StTensor& t, const std::string& name) {
  check_data_size(t, name);
  auto widen = [](const auto& v) { return std::vector<int64_t>(v.begin(), v.end()); };
  switch (t.dtype) {
    case StDType::I64:
      return load_all<int64_t>(t);
    case StDType::I32:
      return widen(load_all<int32_t>(t));
    case StDType::I16:
      return widen(load_all<int16_t>(t));
    case StDType::I8:
      return widen(load_all<int8_t>(t));
    case StDType::U8:
      return widen(t.data);
    case StDType::BOOL:
      for (uint8_t b : t.data) {
        LETHE_CHECK(b <= 1, "safetensors tensor ", quote(name), ": BOOL byte ", int(b),
                    " is neither 0 nor 1");
      }
      return widen(t.data);
    default:
      LETHE_FAIL("safetensors tensor ", quote(name), ": dtype ", st_dtype_name(t.dtype),
                 " is not an integer dtype (expected I64, I32, I16, I8, U8 or BOOL)");
  }
}

StTensor from_f32(const std::vector<int64_t>& shape, const float* data) {
  return make_tensor(StDType::F32, shape, data);
}
StTensor from_i64(const std::vector<int64_t>& shape, const int64_t* data) {
  return make_tensor(StDType::I64, shape, data);
}
StTensor from_u8(const std::vector<int64_t>& shape, const uint8_t* data) {
  return make_tensor(StDType::U8, shape, data);
}

}  // namespace lethe::io
