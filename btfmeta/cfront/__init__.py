"""The C front end: preprocessor, lark grammar, semantic analysis and clang-exact layout."""
