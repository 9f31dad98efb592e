// Numbered, forward-only schema migrations applied at start-up inside one transaction.
#pragma once

#include "storage/database.hpp"

namespace releasebot::storage {

// The newest schema version this binary knows.
int latest_schema_version();

// Applies every migration the database lacks, each recorded in schema_migrations, all in one
// transaction; a database from a newer binary is refused with a database_error.
void migrate(database& db);

}  // namespace releasebot::storage
