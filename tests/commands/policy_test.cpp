#include "commands/policy.hpp"
#include "commands/parser.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using releasebot::commands::command_families;
using releasebot::commands::gate_requirement;
using releasebot::commands::load_policy;
using releasebot::commands::parse_policy;
using releasebot::commands::policy;
using releasebot::commands::policy_error;
using releasebot::commands::version_bump;
using strings = std::vector<std::string>;

const std::filesystem::path shipped_policy = std::filesystem::path(RELEASEBOT_SOURCE_DIR) / "deploy" / "policy.toml";

// The smallest policy that uses every feature; each error test breaks one thing in it.
constexpr std::string_view minimal = R"(roles = ["release-coordinator", "qa", "dev-lead"]
coordinator_role = "release-coordinator"
environments = ["alpha", "beta", "production"]
production_environment = "production"
readiness_teams = ["sales", "uat"]
cutoff_reminders = ["24h", "0m"]

[[stages]]
id = "planning"
name = "Planning"
gate = ["checklist"]

[[stages.checklist]]
id = "scope-defined"
text = "Scope defined"

[[stages.checklist]]
id = "tests-green"
text = "Tests green"
owner = "qa"

[[stages]]
id = "signoff"
name = "Sign-off"
gate = ["signoffs"]

[[stages]]
id = "deployment"
name = "Deployment"
gate = ["checklist", "production"]

[types.minor]
description = "Small but critical changes"
stages = ["planning", "signoff", "deployment"]
path = ["alpha", "beta", "production"]
signoffs = ["qa", "dev-lead"]
notice_days = 7
bump = "minor"

[types.emergency]
description = "Urgent fix"
stages = ["planning", "deployment"]
path = ["alpha", "production"]
signoffs = ["dev-lead"]
notice_days = 0
bump = "patch"
retroactive_signoffs = true

[permissions]
list = "anyone"
status = "anyone"
report = "anyone"
ready = "anyone"
incident = "anyone"
review-add = "anyone"
schedule = ["release-coordinator"]
advance = ["release-coordinator"]
check = ["release-coordinator"]
scope = ["release-coordinator", "dev-lead"]
close = ["release-coordinator"]
cancel = ["release-coordinator"]
signoff = ["release-coordinator"]
review-manage = ["release-coordinator"]
audit = ["release-coordinator"]
cutoff = ["release-coordinator"]
role = []
tests = ["dev-lead", "qa"]

[permissions.open]
roles = ["release-coordinator", "dev-lead"]
release_coordinator = false

[permissions.deploy]
roles = ["dev-lead"]
)";

// The minimal policy with the first `from` replaced by `to`.
std::string broken(std::string_view from, std::string_view to) {
  std::string text(minimal);
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// 1-based line of the `nth` occurrence of `needle`.
std::size_t line_of(std::string_view text, std::string_view needle, int nth = 1) {
  std::size_t at = std::string_view::npos;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, at == std::string_view::npos ? 0 : at + 1);
    REQUIRE(at != std::string_view::npos);
  }
  return static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
}

std::string error_of(std::string_view text) {
  try {
    parse_policy(text, "team-policy.toml");
  } catch (const policy_error& error) {
    return error.what();
  }
  FAIL("the policy was accepted");
  return {};
}

// The error names the file and the line where `marker` (its `nth` occurrence) is, and says `words`.
void check_error(std::string_view text, std::string_view marker, std::initializer_list<std::string_view> words,
                 int nth = 1) {
  const std::string message = error_of(text);
  INFO(message);
  CHECK_THAT(message, Catch::StartsWith("team-policy.toml:" + std::to_string(line_of(text, marker, nth)) + ":"));
  for (const auto word : words) CHECK_THAT(message, Catch::Contains(std::string(word)));
  CHECK_THAT(message, Catch::Contains(" — "));
  CHECK(message.find('\n') == std::string::npos);
}

const policy& shipped() {
  static const policy loaded = load_policy(shipped_policy);
  return loaded;
}

strings stage_ids(const policy& p) {
  strings ids;
  for (const auto& stage : p.stages) ids.push_back(stage.id);
  return ids;
}

strings type_ids(const policy& p) {
  strings ids;
  for (const auto& type : p.types) ids.push_back(type.id);
  return ids;
}

const auto& type(const policy& p, std::string_view id) {
  const auto* found = p.find_type(id);
  REQUIRE(found != nullptr);
  return *found;
}

const auto& stage(const policy& p, std::string_view id) {
  const auto* found = p.find_stage(id);
  REQUIRE(found != nullptr);
  return *found;
}

}  // namespace

TEST_CASE("the shipped policy is PROCESS.md", "[policy]") {
  const policy& p = shipped();

  CHECK(p.source == shipped_policy.string());
  CHECK(p.roles == strings{"release-coordinator", "product-manager", "business-owner", "dev-lead", "developer",
                           "qa", "infra", "client"});
  CHECK(p.coordinator_role == "release-coordinator");
  CHECK(p.environments == strings{"local", "feature", "delta", "alpha", "uat", "beta", "production"});
  CHECK(p.production_environment == "production");
  CHECK(p.readiness_teams == strings{"sales", "schedules", "support", "marketing", "client-services", "client", "uat"});
  CHECK(p.cutoff_reminders == std::vector<std::chrono::minutes>{24h, 1h, 0min});

  SECTION("stages in canonical order with their gates and checklists") {
    CHECK(stage_ids(p) == strings{"planning", "impact", "regression", "readiness", "communication", "signoff",
                                  "deployment", "review"});
    CHECK(p.stage_index("planning") == 0);
    CHECK(p.stage_index("review") == 7);
    CHECK(p.stage_index("nope") == -1);
    CHECK(stage(p, "planning").checklist.size() == 3);
    CHECK(stage(p, "impact").checklist.size() == 10);
    CHECK(stage(p, "regression").checklist.size() == 6);
    CHECK(stage(p, "readiness").checklist.empty());
    CHECK(stage(p, "readiness").gate == std::vector{gate_requirement::teams});
    CHECK(stage(p, "communication").checklist.size() == 3);
    CHECK(stage(p, "signoff").gate == std::vector{gate_requirement::signoffs});
    CHECK(stage(p, "deployment").gate == std::vector{gate_requirement::checklist, gate_requirement::production});
    CHECK(stage(p, "review").gate == std::vector{gate_requirement::checklist, gate_requirement::review_closed});

    const auto owner_of = [&](std::string_view stage_id, std::string_view item) {
      for (const auto& entry : stage(p, stage_id).checklist) {
        if (entry.id == item) return entry.owner_role;
      }
      FAIL("no checklist item " << item << " in " << stage_id);
      return std::string();
    };
    CHECK(owner_of("regression", "qa-regression") == "qa");
    CHECK(owner_of("regression", "dev-issues-fixed") == "dev-lead");
    CHECK(owner_of("regression", "uat-done") == "business-owner");
    CHECK(owner_of("regression", "blockers-identified").empty());
    CHECK(owner_of("deployment", "release-script") == "dev-lead");
    CHECK(owner_of("deployment", "monitoring-off") == "infra");
    CHECK(owner_of("deployment", "status-page-verified") == "infra");
  }

  SECTION("four release types with their stages, paths, sign-offs and notice") {
    CHECK(type_ids(p) == strings{"major", "minor", "hotfix", "emergency"});

    const auto& major = type(p, "major");
    const auto& minor = type(p, "minor");
    const auto& hotfix = type(p, "hotfix");
    const auto& emergency = type(p, "emergency");

    CHECK(major.stages == stage_ids(p));
    CHECK(minor.stages == stage_ids(p));
    CHECK(hotfix.stages == strings{"planning", "regression", "communication", "signoff", "deployment", "review"});
    CHECK(emergency.stages == strings{"planning", "regression", "signoff", "deployment", "review"});

    CHECK(major.path == strings{"delta", "uat", "beta", "production"});
    CHECK(minor.path == strings{"delta", "uat", "beta", "production"});
    CHECK(hotfix.path == strings{"alpha", "beta", "production"});
    CHECK(emergency.path == strings{"alpha", "production"});

    CHECK(major.required_signoffs == strings{"product-manager", "qa", "dev-lead", "business-owner", "client"});
    CHECK(minor.required_signoffs == strings{"product-manager", "qa", "dev-lead", "business-owner"});
    CHECK(hotfix.required_signoffs == strings{"product-manager", "qa", "dev-lead"});
    CHECK(emergency.required_signoffs == strings{"dev-lead", "product-manager"});

    CHECK(major.notice_period == std::chrono::days{14});
    CHECK(minor.notice_period == std::chrono::days{7});
    CHECK(hotfix.notice_period == std::chrono::days{1});
    CHECK(emergency.notice_period == std::chrono::days{0});

    CHECK(major.bump == version_bump::major);
    CHECK(minor.bump == version_bump::minor);
    CHECK(hotfix.bump == version_bump::patch);
    CHECK(emergency.bump == version_bump::patch);

    CHECK_FALSE(major.retroactive_signoffs);
    CHECK_FALSE(minor.retroactive_signoffs);
    CHECK_FALSE(hotfix.retroactive_signoffs);
    CHECK(emergency.retroactive_signoffs);
    CHECK_FALSE(major.description.empty());
  }

  SECTION("permissions per command family") {
    const auto* open = p.find_permission("open");
    REQUIRE(open != nullptr);
    CHECK(open->roles == strings{"release-coordinator", "product-manager", "dev-lead"});
    CHECK_FALSE(open->release_coordinator_may);

    const auto* deploy = p.find_permission("deploy");
    REQUIRE(deploy != nullptr);
    CHECK(deploy->roles == strings{"infra", "dev-lead", "release-coordinator"});
    CHECK(deploy->release_coordinator_may);

    const auto* role = p.find_permission("role");
    REQUIRE(role != nullptr);
    CHECK(role->roles.empty());
    CHECK_FALSE(role->release_coordinator_may);

    CHECK(p.find_permission("tests")->roles == strings{"release-coordinator", "dev-lead", "developer", "qa"});
    CHECK(p.find_permission("cutoff")->roles == strings{"release-coordinator", "infra"});
    CHECK(p.find_permission("review-manage") != nullptr);
    CHECK(p.find_permission("status")->anyone);
    CHECK(p.find_permission("review-add")->anyone);
    CHECK_FALSE(p.find_permission("review-manage")->anyone);
    for (const auto& family : command_families()) {
      INFO("family " << family);
      CHECK(p.find_permission(family) != nullptr);
    }
  }

  SECTION("lookups") {
    CHECK(p.has_role("qa"));
    CHECK_FALSE(p.has_role("everyone"));
    CHECK(p.has_environment("uat"));
    CHECK_FALSE(p.has_environment("staging"));
    CHECK(p.has_team("client-services"));
    CHECK_FALSE(p.has_team("legal"));
    CHECK(p.find_type("patch") == nullptr);
    CHECK(p.find_stage("testing") == nullptr);
  }
}

TEST_CASE("gate requirements have stable names", "[policy]") {
  for (const auto requirement : {gate_requirement::checklist, gate_requirement::teams, gate_requirement::signoffs,
                                 gate_requirement::production, gate_requirement::review_closed}) {
    CHECK(releasebot::commands::gate_requirement_from_string(releasebot::commands::to_string(requirement)) ==
          requirement);
  }
  CHECK(releasebot::commands::to_string(gate_requirement::review_closed) == "review_closed");
  CHECK_FALSE(releasebot::commands::gate_requirement_from_string("review-closed").has_value());
}

TEST_CASE("a minimal policy parses, keeping types in file order", "[policy]") {
  const policy p = parse_policy(minimal, "team-policy.toml");
  CHECK(p.source == "team-policy.toml");
  CHECK(type_ids(p) == strings{"minor", "emergency"});
  CHECK(stage(p, "planning").checklist.at(1).owner_role == "qa");
  CHECK(stage(p, "planning").checklist.at(0).owner_role.empty());
  CHECK(p.permissions.at(0).command == "list");
  CHECK(p.cutoff_reminders == std::vector<std::chrono::minutes>{24h, 0min});

  const policy compound = parse_policy(broken(R"(["24h", "0m"])", R"(["2d", "1h30m", "90m", "0"])"), "x.toml");
  CHECK(compound.cutoff_reminders == std::vector<std::chrono::minutes>{48h, 90min, 90min, 0min});
}

TEST_CASE("policy errors: TOML syntax", "[policy][errors]") {
  const auto text = broken("notice_days = 7", "notice_days = = 7");
  check_error(text, "notice_days = = 7", {"syntax error"});
}

TEST_CASE("policy errors: missing required key", "[policy][errors]") {
  SECTION("in a type") {
    const auto text = broken("bump = \"minor\"\n", "");
    check_error(text, "[types.minor]", {"types.minor.bump", "required key is missing", "bump = "});
  }
  SECTION("in a checklist item") {
    const auto text = broken("text = \"Tests green\"\n", "");
    check_error(text, "[[stages.checklist]]", {"stages[0].checklist[1].text", "missing"}, 2);
  }
  SECTION("at the top") {
    const auto text = broken("readiness_teams = [\"sales\", \"uat\"]\n", "");
    check_error(text, "roles", {"readiness_teams", "missing"});
  }
}

TEST_CASE("policy errors: wrong value type", "[policy][errors]") {
  SECTION("a string for a number") {
    const auto text = broken("notice_days = 7", "notice_days = \"7\"");
    check_error(text, "notice_days = \"7\"", {"types.minor.notice_days", "must be a whole number", "found a string"});
  }
  SECTION("a string for a list") {
    const auto text = broken(R"(roles = ["release-coordinator", "qa", "dev-lead"])", R"(roles = "qa")");
    check_error(text, "roles = \"qa\"", {"roles", "must be a list of strings"});
  }
  SECTION("a number inside a list") {
    const auto text = broken(R"(signoffs = ["qa", "dev-lead"])", R"(signoffs = ["qa", 3])");
    check_error(text, "signoffs = [\"qa\", 3]", {"types.minor.signoffs[1]", "must be a string", "found a whole number"});
  }
  SECTION("a string for a flag") {
    const auto text = broken("retroactive_signoffs = true", "retroactive_signoffs = \"yes\"");
    check_error(text, "retroactive_signoffs", {"types.emergency.retroactive_signoffs", "true or false"});
  }
}

TEST_CASE("policy errors: unknown stage in a type", "[policy][errors]") {
  const auto text = broken(R"(["planning", "signoff", "deployment"])", R"(["planning", "signof", "deployment"])");
  check_error(text, "signof\"", {"types.minor.stages[1]", "unknown stage 'signof'", "did you mean 'signoff'?"});
}

TEST_CASE("policy errors: stages out of canonical order", "[policy][errors]") {
  const auto text = broken(R"(["planning", "signoff", "deployment"])", R"(["planning", "deployment", "signoff"])");
  check_error(text, "[\"planning\", \"deployment\"",
              {"types.minor.stages[2]", "'signoff' is out of order", R"(["planning", "signoff", "deployment"])"});
}

TEST_CASE("policy errors: a stage listed twice in a type", "[policy][errors]") {
  const auto text = broken(R"(["planning", "signoff", "deployment"])", R"(["planning", "signoff", "signoff"])");
  check_error(text, "[\"planning\", \"signoff\", \"signoff\"]", {"types.minor.stages[2]", "duplicate stage 'signoff'"});
}

TEST_CASE("policy errors: unknown environment in a path", "[policy][errors]") {
  const auto text = broken(R"(path = ["alpha", "beta", "production"])", R"(path = ["alpha", "gamma", "production"])");
  check_error(text, "gamma", {"types.minor.path[1]", "unknown environment 'gamma'", "alpha, beta, production"});
}

TEST_CASE("policy errors: a path going backwards", "[policy][errors]") {
  const auto text = broken(R"(path = ["alpha", "beta", "production"])", R"(path = ["beta", "alpha", "production"])");
  check_error(text, "[\"beta\", \"alpha\"", {"types.minor.path[1]", "'alpha' is out of order"});
}

TEST_CASE("policy errors: a path not ending at production", "[policy][errors]") {
  const auto text = broken(R"(path = ["alpha", "beta", "production"])", R"(path = ["alpha", "beta"])");
  check_error(text, "path = [\"alpha\", \"beta\"]",
              {"types.minor.path[1]", "ends at 'beta', not at the production environment 'production'"});
}

TEST_CASE("policy errors: duplicate ids", "[policy][errors]") {
  SECTION("roles") {
    const auto text = broken(R"("qa", "dev-lead"])", R"("qa", "dev-lead", "qa"])");
    check_error(text, "roles", {"roles[3]", "duplicate role 'qa'", "first at line 1"});
  }
  SECTION("environments") {
    const auto text = broken(R"(["alpha", "beta", "production"])", R"(["alpha", "beta", "alpha", "production"])");
    check_error(text, "environments", {"environments[2]", "duplicate environment 'alpha'"});
  }
  SECTION("stages") {
    const auto text = broken("id = \"deployment\"", "id = \"signoff\"");
    check_error(text, "id = \"signoff\"", {"stages[2].id", "duplicate stage 'signoff'"}, 2);
  }
  SECTION("checklist items within a stage") {
    const auto text = broken("id = \"tests-green\"", "id = \"scope-defined\"");
    check_error(text, "id = \"scope-defined\"", {"stages[0].checklist[1].id", "duplicate checklist item 'scope-defined'"},
                2);
  }
  SECTION("readiness teams") {
    const auto text = broken(R"(["sales", "uat"])", R"(["sales", "uat", "sales"])");
    check_error(text, "readiness_teams", {"readiness_teams[2]", "duplicate team 'sales'"});
  }
}

TEST_CASE("policy errors: a role nobody can hold", "[policy][errors]") {
  SECTION("in signoffs") {
    const auto text = broken(R"(signoffs = ["qa", "dev-lead"])", R"(signoffs = ["qa", "dev-lead", "product-manager"])");
    check_error(text, "product-manager",
                {"types.minor.signoffs[2]", "'product-manager' is not declared in roles", "nobody can hold",
                 "add 'product-manager' to roles"});
  }
  SECTION("as a checklist owner") {
    const auto text = broken("owner = \"qa\"", "owner = \"qe\"");
    check_error(text, "owner = \"qe\"", {"stages[0].checklist[1].owner", "nobody can hold", "did you mean 'qa'?"});
  }
  SECTION("in permissions") {
    const auto text = broken(R"(roles = ["dev-lead"])", R"(roles = ["infra"])");
    check_error(text, "roles = [\"infra\"]", {"permissions.deploy.roles[0]", "'infra'", "nobody can hold"});
  }
  SECTION("as the coordinator role") {
    const auto text = broken(R"(coordinator_role = "release-coordinator")", R"(coordinator_role = "release-manager")");
    check_error(text, "coordinator_role", {"coordinator_role", "'release-manager'", "nobody can hold"});
  }
}

TEST_CASE("policy errors: unknown gate requirement", "[policy][errors]") {
  const auto text = broken(R"(gate = ["signoffs"])", R"(gate = ["sign-offs"])");
  check_error(text, "sign-offs", {"stages[1].gate[0]", "unknown gate requirement 'sign-offs'", "did you mean 'signoffs'?"});
}

TEST_CASE("policy errors: bad version bump", "[policy][errors]") {
  const auto text = broken(R"(bump = "minor")", R"(bump = "medium")");
  check_error(text, "medium", {"types.minor.bump", "unknown version bump 'medium'", "major, minor, patch"});
}

TEST_CASE("policy errors: bad reminder duration", "[policy][errors]") {
  for (const std::string_view bad : {"1 hour", "-1h", "h", "5x", "24", "9999d", ""}) {
    const auto text = broken(R"(["24h", "0m"])", "[\"24h\", \"" + std::string(bad) + "\"]");
    check_error(text, "cutoff_reminders",
                {"cutoff_reminders[1]", "'" + std::string(bad) + "' is not a reminder offset", "\"90m\""});
  }
}

TEST_CASE("policy errors: negative notice period", "[policy][errors]") {
  const auto text = broken("notice_days = 7", "notice_days = -3");
  check_error(text, "notice_days = -3", {"types.minor.notice_days", "negative notice period (-3 days)"});
}

TEST_CASE("policy errors: a type with no stages or no path", "[policy][errors]") {
  SECTION("no stages") {
    const auto text = broken(R"(stages = ["planning", "signoff", "deployment"])", "stages = []");
    check_error(text, "stages = []", {"types.minor.stages", "empty list", "stage ids"});
  }
  SECTION("no path") {
    const auto text = broken(R"(path = ["alpha", "beta", "production"])", "path = []");
    check_error(text, "path = []", {"types.minor.path", "empty list", "ending with \"production\""});
  }
}

TEST_CASE("policy errors: production environment not among the environments", "[policy][errors]") {
  const auto text = broken(R"(production_environment = "production")", R"(production_environment = "prod")");
  check_error(text, "production_environment",
              {"production_environment", "'prod' is not one of the environments", "add 'prod' to environments"});
}

TEST_CASE("policy errors: unknown keys", "[policy][errors]") {
  SECTION("at the top") {
    const auto text = broken("cutoff_reminders", "stagse = []\ncutoff_reminders");
    check_error(text, "stagse", {"stagse", "unknown key 'stagse'", "did you mean 'stages'?"});
  }
  SECTION("in a type") {
    const auto text = broken("notice_days = 7", "notice_days = 7\nnotice = 7");
    check_error(text, "notice = 7", {"types.minor.notice", "unknown key 'notice'", "notice_days"});
  }
  SECTION("a misspelt command family") {
    const auto text = broken("[permissions.deploy]", "[permissions.deplyo]");
    check_error(text, "deplyo", {"permissions.deplyo", "unknown command family 'deplyo'", "did you mean 'deploy'?"});
  }
}

TEST_CASE("permissions fail closed: every command family needs a rule", "[policy][errors]") {
  SECTION("a family left out is refused, naming its commands and the fix") {
    const auto text = broken("incident = \"anyone\"\n", "");
    check_error(text, "[permissions]",
                {"permissions.incident", "no rule for the command family 'incident' (incident)",
                 "incident = \"anyone\"", "under [permissions]"});
  }
  SECTION("a policy without [permissions] at all") {
    std::string text(minimal);
    text.erase(text.find("[permissions]"));
    CHECK_THAT(error_of(text), Catch::Contains("permissions") && Catch::Contains("\"anyone\""));
  }
  SECTION("anything but \"anyone\" as a word") {
    const auto text = broken("incident = \"anyone\"", "incident = \"everyone\"");
    check_error(text, "incident = \"everyone\"", {"permissions.incident", "'everyone' is neither \"anyone\""});
  }
  SECTION("\"anyone\" cannot also be a role") {
    const auto text = broken(R"(roles = ["release-coordinator", "qa", "dev-lead"])",
                             R"(roles = ["release-coordinator", "qa", "dev-lead", "anyone"])");
    check_error(text, "roles = [", {"'anyone' cannot be a role"});
  }
  SECTION("the long form takes \"anyone\" too") {
    const auto text = broken("[permissions.deploy]\nroles = [\"dev-lead\"]", "[permissions.deploy]\nroles = \"anyone\"");
    CHECK(parse_policy(text, "x.toml").find_permission("deploy")->anyone);
  }
}

TEST_CASE("policy errors: ids that cannot be typed in chat", "[policy][errors]") {
  const auto text = broken(R"("dev-lead"])", R"("Dev Lead"])");
  check_error(text, "roles", {"roles[2]", "'Dev Lead' is not a valid role id", "lower-case"});
}

TEST_CASE("load_policy names a file it cannot read", "[policy][errors]") {
  const auto missing = std::filesystem::temp_directory_path() / "releasebot-no-such-policy.toml";
  try {
    load_policy(missing);
    FAIL("a missing file was accepted");
  } catch (const policy_error& error) {
    const std::string message = error.what();
    CHECK_THAT(message, Catch::StartsWith(missing.string() + ": "));
    CHECK_THAT(message, Catch::Contains("cannot read the policy file"));
    CHECK_THAT(message, Catch::Contains("No such file"));
  }
  CHECK_THROWS_WITH(load_policy(std::filesystem::temp_directory_path()), Catch::Contains("is a directory"));
}

TEST_CASE("sign-offs bound to builds: each role's environment is the first on the type's path", "[policy]") {
  const std::string text = std::string{minimal} + "\n[bound_to_build]\nqa = [\"uat\", \"alpha\"]\n";
  // uat is not an environment of this policy.
  check_error(text, "qa = [", {"bound_to_build.qa[0]", "'uat' is not one of the environments"});
  const auto p = parse_policy(std::string{minimal} + "\n[bound_to_build]\nqa = [\"beta\", \"alpha\"]\n", "x.toml");
  const auto& minor = *p.find_type("minor");
  CHECK(p.bound_environment(minor, "qa") == "beta");
  CHECK_FALSE(p.bound_environment(minor, "dev-lead"));
  check_error(std::string{minimal} + "\n[bound_to_build]\ntesters = [\"beta\"]\n", "testers",
              {"'testers' is not declared in roles"});
}
