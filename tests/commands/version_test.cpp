#include "commands/version.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

namespace {

using releasebot::commands::matches_prefix;
using releasebot::commands::parse_version;
using releasebot::commands::parse_version_prefix;
using releasebot::commands::version;
using parts = std::vector<int>;

}  // namespace

TEST_CASE("parse_version reads MAJOR.MINOR.PATCH with an optional v", "[version]") {
  auto parsed = parse_version("4.2.0");
  REQUIRE(parsed.has_value());
  CHECK(parsed->major == 4);
  CHECK(parsed->minor == 2);
  CHECK(parsed->patch == 0);
  CHECK(parsed->to_string() == "4.2.0");

  parsed = parse_version("v4.2.13");
  REQUIRE(parsed.has_value());
  CHECK(*parsed == version{4, 2, 13});
  CHECK(parse_version("V10.0.1") == version{10, 0, 1});
  CHECK(parse_version("0.0.0") == version{0, 0, 0});
  CHECK(parse_version("999999.0.1") == version{999999, 0, 1});
}

TEST_CASE("parse_version refuses what is not exactly three clean parts", "[version]") {
  // Leading zeros are refused in every part.
  CHECK_FALSE(parse_version("04.2.0"));
  CHECK_FALSE(parse_version("4.02.0"));
  CHECK_FALSE(parse_version("4.2.00"));
  CHECK_FALSE(parse_version("v4.2.01"));
  // Two parts are a prefix, not a version.
  CHECK_FALSE(parse_version("4.2"));
  CHECK_FALSE(parse_version("v4"));
  // Four parts are never a version.
  CHECK_FALSE(parse_version("4.2.0.1"));
  // Garbage.
  CHECK_FALSE(parse_version(""));
  CHECK_FALSE(parse_version("v"));
  CHECK_FALSE(parse_version("4..0"));
  CHECK_FALSE(parse_version("4.2."));
  CHECK_FALSE(parse_version(".4.2"));
  CHECK_FALSE(parse_version("4.2.x"));
  CHECK_FALSE(parse_version("4.2.0-rc1"));
  CHECK_FALSE(parse_version("vv4.2.0"));
  CHECK_FALSE(parse_version(" 4.2.0"));
  CHECK_FALSE(parse_version("1000000.0.0"));
  // Signs are not digits.
  CHECK_FALSE(parse_version("-1.2.3"));
  CHECK_FALSE(parse_version("4.-2.3"));
  CHECK_FALSE(parse_version("+4.2.3"));
}

TEST_CASE("parse_version_prefix accepts one to three parts", "[version]") {
  CHECK(parse_version_prefix("4") == parts{4});
  CHECK(parse_version_prefix("4.2") == parts{4, 2});
  CHECK(parse_version_prefix("v4.2") == parts{4, 2});
  CHECK(parse_version_prefix("4.2.1") == parts{4, 2, 1});
  CHECK(parse_version_prefix("0") == parts{0});
  CHECK_FALSE(parse_version_prefix("4.2.0.1"));
  CHECK_FALSE(parse_version_prefix("4.02"));
  CHECK_FALSE(parse_version_prefix("4."));
  CHECK_FALSE(parse_version_prefix(""));
  CHECK_FALSE(parse_version_prefix("latest"));
  CHECK_FALSE(parse_version_prefix("-4"));
}

TEST_CASE("prefix matching compares whole parts", "[version]") {
  const version v421{4, 2, 1};
  const version v4200{4, 20, 0};
  CHECK(matches_prefix(v421, parts{4, 2}));
  CHECK_FALSE(matches_prefix(v4200, parts{4, 2}));
  CHECK(matches_prefix(v4200, parts{4, 20}));
  CHECK(matches_prefix(v421, parts{4}));
  CHECK(matches_prefix(v4200, parts{4}));
  CHECK_FALSE(matches_prefix(v421, parts{5}));
  CHECK(matches_prefix(v421, parts{4, 2, 1}));
  CHECK_FALSE(matches_prefix(v421, parts{4, 2, 10}));
  CHECK_FALSE(matches_prefix(version{4, 2, 10}, parts{4, 2, 1}));
  CHECK(matches_prefix(v421, parts{}));
}

TEST_CASE("versions order numerically, part by part", "[version]") {
  CHECK(version{4, 2, 10} > version{4, 2, 9});
  CHECK(version{4, 10, 0} > version{4, 9, 99});
  CHECK(version{5, 0, 0} > version{4, 99, 99});
  CHECK(version{4, 2, 0} == version{4, 2, 0});
  CHECK(version{4, 2, 0} != version{4, 2, 1});
  CHECK(version{0, 0, 1} < version{0, 1, 0});

  std::vector<version> list{{4, 10, 0}, {4, 2, 10}, {4, 2, 9}, {1, 0, 0}, {4, 9, 0}};
  std::sort(list.begin(), list.end());
  std::vector<std::string> names;
  for (const auto& v : list) names.push_back(v.to_string());
  CHECK(names == std::vector<std::string>{"1.0.0", "4.2.9", "4.2.10", "4.9.0", "4.10.0"});
}
