// Who holds which role; admins come from configuration, not from here.
#pragma once

#include "storage/database.hpp"
#include "storage/timestamps.hpp"

#include <map>
#include <vector>

namespace releasebot::storage {

class role_grants {
public:
  explicit role_grants(database& db) : db_{db} {}

  // false when the user already held (grant) or did not hold (revoke) the role.
  bool grant(std::string_view user, std::string_view role, std::string_view by, instant at);
  bool revoke(std::string_view user, std::string_view role);
  std::vector<std::string> roles_of(std::string_view user);
  std::vector<std::string> holders_of(std::string_view role);
  std::map<std::string, std::vector<std::string>> everyone();

private:
  database& db_;
};

}  // namespace releasebot::storage
