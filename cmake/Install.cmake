# `cmake --install build --prefix P`: everything `P/bin/maskfill` needs, so it runs from any
# directory with no source tree around. The tree-sitter grammars and query files are compiled
# into the binary; the torch plugin goes where plugin_loader.cpp looks next to an installed
# binary (P/lib/maskfill), the bundled model where default_model_dir() looks
# (P/share/maskfill/models/maskfill-tiny). The editors' parts go where the editors find them:
# the Neovim plugin as a start package under P/share/nvim/site (on Neovim's default 'packpath'
# for P = /usr or /usr/local), the VS Code extension as P/share/maskfill/vscode/maskfill.vsix.
include(GNUInstallDirs)
install(TARGETS maskfill RUNTIME DESTINATION bin)
if(TARGET maskfill_torch)
  # A LibTorch outside the system library path (e.g. PyTorch's CUDA build) stays found.
  set_target_properties(maskfill_torch PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
  install(TARGETS maskfill_torch LIBRARY DESTINATION lib/maskfill)
endif()
install(FILES models/maskfill-tiny/config.json models/maskfill-tiny/tokenizer.json
              models/maskfill-tiny/tokenizer_config.json models/maskfill-tiny/model.safetensors
              models/maskfill-tiny/README.md
        DESTINATION share/maskfill/models/maskfill-tiny)
# The unit names the installed binary. Written at install time, when CMAKE_INSTALL_PREFIX is the
# prefix actually used (--prefix, or /usr when cpack builds the .deb).
install(CODE "
  set(MASKFILL_INSTALLED_BINARY \"\${CMAKE_INSTALL_PREFIX}/bin/maskfill\")
  configure_file(\"${CMAKE_SOURCE_DIR}/scripts/maskfill-serve.service\"
                 \"${CMAKE_BINARY_DIR}/maskfill-serve.service\" @ONLY)")
install(FILES "${CMAKE_BINARY_DIR}/maskfill-serve.service" DESTINATION share/maskfill/systemd)
install(FILES README.md docs/deploy.md docs/context.md DESTINATION share/doc/maskfill OPTIONAL)
install(DIRECTORY editors/nvim/ DESTINATION share/nvim/site/pack/maskfill/start/maskfill
        PATTERN tests EXCLUDE)

# The VS Code extension, packaged by the normal build (npm ci + vsce, pinned in
# editors/vscode/package-lock.json). Off for the demo, which runs no editor.
find_program(NPM_PROGRAM npm)
option(MASKFILL_VSIX "Package the VS Code extension (needs npm and the npm registry)" ON)
if(MASKFILL_VSIX AND NPM_PROGRAM)
  set(vscode_dir "${CMAKE_SOURCE_DIR}/editors/vscode")
  file(GLOB vscode_sources CONFIGURE_DEPENDS "${vscode_dir}/src/*.ts")
  add_custom_command(
    OUTPUT "${CMAKE_BINARY_DIR}/maskfill.vsix"
    COMMAND "${NPM_PROGRAM}" ci --no-audit --no-fund --loglevel=error
    COMMAND "${NPM_PROGRAM}" run -s package
    COMMAND "${CMAKE_COMMAND}" -E copy maskfill.vsix "${CMAKE_BINARY_DIR}/maskfill.vsix"
    WORKING_DIRECTORY "${vscode_dir}"
    DEPENDS "${vscode_dir}/package.json" "${vscode_dir}/package-lock.json" "${vscode_dir}/README.md" ${vscode_sources}
    COMMENT "Packaging the VS Code extension (maskfill.vsix)"
    VERBATIM)
  add_custom_target(vsix ALL DEPENDS "${CMAKE_BINARY_DIR}/maskfill.vsix")
  install(FILES "${CMAKE_BINARY_DIR}/maskfill.vsix" DESTINATION share/maskfill/vscode)
elseif(MASKFILL_VSIX)
  message(STATUS "npm not found: the VS Code extension is not packaged")
endif()

include(cmake/Package.cmake)
