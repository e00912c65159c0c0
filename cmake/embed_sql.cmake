# Turns one .sql file into a C++ source defining `extern const char* const pgtrail_sql_<SYMBOL>`.
file(READ "${IN}" content)
set(delim "pgtrail_sql")
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )${delim}\"")
endif()
file(WRITE "${OUT}" "namespace pgtrail::sql {\nextern const char* const ${SYMBOL};\nconst char* const ${SYMBOL} = R\"${delim}(${content})${delim}\";\n}\n")
