# The addon: node/addon/*.cpp plus the C++ library's sources (the repository's src/, or
# native/src/ inside a packed tarball: scripts/paths.js decides). Built by
# scripts/build.js at `npm install`.
{
  "targets": [
    {
      "target_name": "shmtable",
      "sources": [
        "addon/addon.cpp",
        "<!@(node scripts/paths.js sources)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/paths.js include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-mcx16", "-O2", "-fexceptions", "-frtti",
                    "-fvisibility=hidden"],
      "libraries": ["-lxxhash"]
    }
  ]
}
