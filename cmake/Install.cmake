# `cmake --install build --prefix P`: everything `P/bin/maskfill` needs, so it runs from any
# directory with no source tree around. The tree-sitter grammars and query files are compiled
# into the binary; the torch plugin goes where plugin_loader.cpp looks next to an installed
# binary (P/lib/maskfill), the bundled model where default_model_dir() looks
# (P/share/maskfill/models/maskfill-tiny).
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
install(FILES scripts/maskfill-serve.service DESTINATION share/maskfill/systemd)
install(FILES docs/deploy.md DESTINATION share/doc/maskfill OPTIONAL)
