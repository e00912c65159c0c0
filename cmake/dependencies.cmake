# Every library pgtrail builds against, each with the oldest version it is built and tested
# with (Debian 12's); Debian 13 ships newer ones of all. A missing or too old one stops the
# configure with one message naming it, what was found, and how to install it.
set(PGTRAIL_INSTALL_HINT "scripts/install-deps.sh installs every dependency (Debian/Ubuntu)")

# pgtrail_require_pkg(PREFIX MODULE MIN_VERSION [MODULE MIN_VERSION]...): pkg-config modules
# as one imported target, PkgConfig::PREFIX.
function(pgtrail_require_pkg prefix)
  set(specs "")
  set(args ${ARGN})
  while(args)
    list(POP_FRONT args module min_version)
    pkg_check_modules(_pgtrail_wanted QUIET "${module}>=${min_version}")
    if(NOT _pgtrail_wanted_FOUND)
      pkg_check_modules(_pgtrail_any QUIET "${module}")
      if(_pgtrail_any_FOUND)
        set(found "version ${_pgtrail_any_VERSION} is too old")
      else()
        set(found "it was not found")
      endif()
      message(FATAL_ERROR
        "pgtrail needs ${module} >= ${min_version}, but ${found}. ${PGTRAIL_INSTALL_HINT}.")
    endif()
    message(STATUS "Found ${module} ${_pgtrail_wanted_VERSION} (>= ${min_version})")
    list(APPEND specs "${module}>=${min_version}")
  endwhile()
  pkg_check_modules(${prefix} REQUIRED QUIET IMPORTED_TARGET ${specs})
endfunction()

# pgtrail_require_config(PACKAGE MIN_VERSION): a CMake package config (CLI11, doctest).
function(pgtrail_require_config package min_version)
  find_package(${package} ${min_version} CONFIG QUIET)
  if(NOT ${package}_FOUND)
    if(${package}_CONSIDERED_VERSIONS)
      set(found "only version ${${package}_CONSIDERED_VERSIONS} was found")
    else()
      set(found "it was not found")
    endif()
    message(FATAL_ERROR
      "pgtrail needs ${package} >= ${min_version}, but ${found}. ${PGTRAIL_INSTALL_HINT}.")
  endif()
  message(STATUS "Found ${package} ${${package}_VERSION} (>= ${min_version})")
endfunction()

find_package(PkgConfig REQUIRED)
pgtrail_require_pkg(PQXX libpqxx 6.4 libpq 15)
pgtrail_require_pkg(RDKAFKA rdkafka++ 2.0 rdkafka 2.0)
pgtrail_require_pkg(HTTPLIB cpp-httplib 0.11)
# Rules files (consumer --rules): toml++, which CLI11's own TOML reader does not replace (it
# has no arrays of tables).
pgtrail_require_pkg(TOMLPP tomlplusplus 3.3)
pgtrail_require_config(CLI11 2.1)
find_package(Threads REQUIRED)
