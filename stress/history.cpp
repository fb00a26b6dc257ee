// stress/history.cpp: JSON lines for histories, with nlohmann::json.
//
// Keys and values are byte strings; JSON strings are Unicode. Each byte b is written as
// the code point U+00bb (Latin-1), so any byte string survives the round trip and a
// reader in another language recovers the bytes by encoding the string as Latin-1.
#include "history.hpp"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace shmtable::stress {
namespace {

using json = nlohmann::ordered_json; // keeps the fields in the documented order

std::string bytes_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const unsigned char b : bytes) {
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
    } else {
      out.push_back(static_cast<char>(0xc0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    }
  }
  return out;
}

std::string utf8_to_bytes(const std::string &text, const char *field) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < text.size()) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (text[++i] & 0x3f)));
    } else {
      throw std::runtime_error(std::string(field) +
                               ": a character above U+00FF (strings hold bytes as Latin-1)");
    }
  }
  return out;
}

json result_json(const Operation &op) {
  const Result &r = op.result;
  switch (r.kind) {
  case Result::Kind::kUnknown:
  case Result::Kind::kAbsent:
    return nullptr;
  case Result::Kind::kValue:
    return bytes_to_utf8(r.value);
  case Result::Kind::kBool:
    return r.flag;
  case Result::Kind::kNumber:
    return r.number;
  case Result::Kind::kOk:
    return "ok";
  case Result::Kind::kError:
    return json{{"error", r.error}};
  }
  return nullptr;
}

Result result_from(const json &j, OpKind op, bool completed) {
  Result r;
  if (!completed) {
    return r;
  }
  if (j.is_object()) {
    r.kind = Result::Kind::kError;
    r.error = j.at("error").get<std::string>();
    return r;
  }
  switch (op) {
  case OpKind::kGet:
    if (j.is_null()) {
      r.kind = Result::Kind::kAbsent;
    } else {
      r.kind = Result::Kind::kValue;
      r.value = utf8_to_bytes(j.get<std::string>(), "result");
    }
    break;
  case OpKind::kSet:
  case OpKind::kClear:
    if (j != "ok") {
      throw std::runtime_error("result: expected \"ok\" or {\"error\": ...}");
    }
    r.kind = Result::Kind::kOk;
    break;
  case OpKind::kAdd:
    r.kind = Result::Kind::kNumber;
    r.number = j.get<std::int64_t>();
    break;
  default:
    r.kind = Result::Kind::kBool;
    r.flag = j.get<bool>();
    break;
  }
  return r;
}

} // namespace

std::string to_json_line(const Operation &op) {
  json args = json::array();
  switch (op.op) {
  case OpKind::kSet:
  case OpKind::kSetIfAbsent:
    args.push_back(bytes_to_utf8(op.value));
    break;
  case OpKind::kCompareAndSet:
    args.push_back(bytes_to_utf8(op.value));
    args.push_back(bytes_to_utf8(op.desired));
    break;
  case OpKind::kAdd:
    args.push_back(op.delta);
    break;
  default:
    break;
  }
  json j = {{"process", op.process},
            {"op", to_string(op.op)},
            {"key", op.op == OpKind::kClear ? json(nullptr) : json(bytes_to_utf8(op.key))},
            {"args", std::move(args)},
            {"result", result_json(op)},
            {"invoke", op.invoke_ns},
            {"response", op.response_ns ? json(*op.response_ns) : json(nullptr)},
            {"completed", op.completed}};
  // Expiry's fields, only where there is something to say: a history without expiry
  // reads as before, and an older file as one without ttls or clock readings.
  if (op.ttl_ns != 0) {
    j["ttl"] = op.ttl_ns;
  }
  if (op.invoke_clock_ns) {
    j["invoke_clock"] = *op.invoke_clock_ns;
  }
  if (op.response_clock_ns) {
    j["response_clock"] = *op.response_clock_ns;
  }
  return j.dump();
}

Operation from_json_line(const std::string &line) {
  Operation op;
  try {
    const json j = json::parse(line);
    op.process = j.at("process").get<std::uint32_t>();
    const auto name = j.at("op").get<std::string>();
    const auto kind = op_from_string(name);
    if (!kind) {
      throw std::runtime_error("op: unknown operation \"" + name + "\"");
    }
    op.op = *kind;
    if (op.op != OpKind::kClear) {
      op.key = utf8_to_bytes(j.at("key").get<std::string>(), "key");
    }
    const json &args = j.at("args");
    switch (op.op) {
    case OpKind::kSet:
    case OpKind::kSetIfAbsent:
      op.value = utf8_to_bytes(args.at(0).get<std::string>(), "args[0]");
      break;
    case OpKind::kCompareAndSet:
      op.value = utf8_to_bytes(args.at(0).get<std::string>(), "args[0]");
      op.desired = utf8_to_bytes(args.at(1).get<std::string>(), "args[1]");
      break;
    case OpKind::kAdd:
      op.delta = args.at(0).get<std::int64_t>();
      break;
    default:
      break;
    }
    op.completed = j.at("completed").get<bool>();
    op.invoke_ns = j.at("invoke").get<std::uint64_t>();
    const json &resp = j.at("response");
    if (!resp.is_null()) {
      op.response_ns = resp.get<std::uint64_t>();
    } else if (op.completed) {
      throw std::runtime_error("response: a completed operation needs a response time");
    }
    op.result = result_from(j.at("result"), op.op, op.completed);
    if (const auto it = j.find("ttl"); it != j.end()) {
      op.ttl_ns = it->get<std::uint64_t>();
      if (op.ttl_ns != 0 && op.op != OpKind::kSet && op.op != OpKind::kSetIfAbsent &&
          op.op != OpKind::kAdd) {
        throw std::runtime_error("ttl: only set, set_if_absent and add take one");
      }
    }
    if (const auto it = j.find("invoke_clock"); it != j.end() && !it->is_null()) {
      op.invoke_clock_ns = it->get<std::uint64_t>();
    }
    if (const auto it = j.find("response_clock"); it != j.end() && !it->is_null()) {
      op.response_clock_ns = it->get<std::uint64_t>();
    }
  } catch (const json::exception &e) {
    throw std::runtime_error(e.what());
  }
  return op;
}

void write_history(const std::string &path, const std::vector<Operation> &history, bool append) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  if (!out) {
    throw std::runtime_error("history: cannot write " + path);
  }
  for (const Operation &op : history) {
    out << to_json_line(op) << '\n';
  }
  out.flush();
  if (!out) {
    throw std::runtime_error("history: write to " + path + " failed");
  }
}

std::vector<Operation> read_history(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("history: cannot read " + path);
  }
  std::vector<Operation> ops;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) {
      continue;
    }
    try {
      ops.push_back(from_json_line(line));
    } catch (const std::exception &e) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  return ops;
}

} // namespace shmtable::stress
