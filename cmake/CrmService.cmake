# crm_domain_library(<svc> SOURCES <files...> TESTS <files...>)
#
# A service's pure rules (src/domain/, docs/architecture.md): the static library <svc>_domain, which may use only
# common's light core (no gRPC, protobuf or database), and its Catch2 unit tests <svc>_domain_tests, registered in
# CTest as "<svc>_domain.*" with the label unit. They build in seconds.
function(crm_domain_library svc)
  cmake_parse_arguments(ARG "" "" "SOURCES;TESTS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "crm_domain_library(${svc}): SOURCES is empty")
  endif()
  add_library(${svc}_domain STATIC ${ARG_SOURCES})
  target_include_directories(${svc}_domain PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_features(${svc}_domain PUBLIC cxx_std_20)
  target_link_libraries(${svc}_domain PUBLIC crm_common_core)
  if(ARG_TESTS)
    add_executable(${svc}_domain_tests ${ARG_TESTS})
    target_link_libraries(${svc}_domain_tests PRIVATE ${svc}_domain Catch2::Catch2WithMain)
    catch_discover_tests(${svc}_domain_tests EXTRA_ARGS -w NoTests TEST_PREFIX "${svc}_domain." PROPERTIES LABELS unit)
  endif()
endfunction()
