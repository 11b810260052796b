# crm_proto_library(<target> PROTOS <files relative to proto/...> [GRPC] [DEPS <targets>])
# Generates C++ (and gRPC stubs with GRPC) from proto/ into the build tree and wraps them in a static library.
# Generated code lives only in the build folder; it is never committed.
set(CRM_PROTO_ROOT ${CMAKE_SOURCE_DIR}/proto)
set(CRM_PROTO_OUT ${CMAKE_BINARY_DIR}/gen)
set(CRM_GRPC_PROTO_ROOT /usr/share/grpc-proto)
get_target_property(CRM_PROTOBUF_INCLUDE protobuf::libprotobuf INTERFACE_INCLUDE_DIRECTORIES)
file(MAKE_DIRECTORY ${CRM_PROTO_OUT})

function(crm_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "" "PROTOS;DEPS" ${ARGN})
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    if(EXISTS ${CRM_PROTO_ROOT}/${proto})
      set(root ${CRM_PROTO_ROOT})
    else()
      set(root ${CRM_GRPC_PROTO_ROOT})
    endif()
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(outs ${CRM_PROTO_OUT}/${base}.pb.cc ${CRM_PROTO_OUT}/${base}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outs ${CRM_PROTO_OUT}/${base}.grpc.pb.cc ${CRM_PROTO_OUT}/${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${CRM_PROTO_OUT} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc --cpp_out=${CRM_PROTO_OUT} ${plugin_args} -I ${CRM_PROTO_ROOT}
              -I ${CRM_GRPC_PROTO_ROOT} -I ${CRM_PROTOBUF_INCLUDE} ${root}/${proto}
      DEPENDS ${root}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} SYSTEM PUBLIC ${CRM_PROTO_OUT})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
  target_compile_options(${target} PRIVATE -w)
endfunction()
