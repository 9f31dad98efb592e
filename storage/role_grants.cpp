#include "storage/role_grants.hpp"

namespace releasebot::storage {

bool role_grants::grant(std::string_view user, std::string_view role, std::string_view by, instant at) {
  return db_.prepare("INSERT INTO role_grants (user_id, role, granted_by, granted_at) VALUES (?,?,?,?) "
                     "ON CONFLICT DO NOTHING")
             .bind_all(user, role, by, to_iso(at))
             .execute() > 0;
}

bool role_grants::revoke(std::string_view user, std::string_view role) {
  return db_.prepare("DELETE FROM role_grants WHERE user_id = ? AND role = ?").bind_all(user, role).execute() > 0;
}

std::vector<std::string> role_grants::roles_of(std::string_view user) {
  auto query = db_.prepare("SELECT role FROM role_grants WHERE user_id = ? ORDER BY role");
  query.bind(1, user);
  std::vector<std::string> roles;
  while (query.step()) roles.push_back(query.column_text(0));
  return roles;
}

std::vector<std::string> role_grants::holders_of(std::string_view role) {
  auto query = db_.prepare("SELECT user_id FROM role_grants WHERE role = ? ORDER BY user_id");
  query.bind(1, role);
  std::vector<std::string> users;
  while (query.step()) users.push_back(query.column_text(0));
  return users;
}

std::map<std::string, std::vector<std::string>> role_grants::everyone() {
  auto query = db_.prepare("SELECT user_id, role FROM role_grants ORDER BY user_id, role");
  std::map<std::string, std::vector<std::string>> roles;
  while (query.step()) roles[query.column_text(0)].push_back(query.column_text(1));
  return roles;
}

}  // namespace releasebot::storage
