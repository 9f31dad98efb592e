// Read-only looks into the bot's SQLite file from a test, as an auditor would.
#pragma once

#include <string>
#include <vector>

namespace releasebot::testing {

// The first column of the first row as a number (-1 when there is no row).
long count(const std::string& db, const std::string& sql);
// The first column of the first row as text ("" when there is no row or it is NULL).
std::string text_of(const std::string& db, const std::string& sql);
// The first column of every row, as text ("" for NULL).
std::vector<std::string> column_of(const std::string& db, const std::string& sql);

}  // namespace releasebot::testing
