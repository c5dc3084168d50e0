# Recipe of lab-orchestrator/desktop: the shell image's root + a VNC desktop
# (sourced by deploy/images/build.sh; its hash decides whether it is rebuilt).
DESKTOP_PACKAGES="tigervnc-standalone-server twm xterm xfonts-base"
# Left out of the image: Mesa's DRI drivers and what only they need (LLVM, z3,
# ICU, libxml2), and perl's full library (only tigervnc's vncserver wrapper
# uses it; the image starts Xvnc itself). Xvnc then runs without GLX, which
# a lab desktop does not need; this takes the image from 229 MB to about 120 MB.
DESKTOP_DROP=(
  ./usr/lib/x86_64-linux-gnu/dri
  './usr/lib/x86_64-linux-gnu/libLLVM*'
  './usr/lib/x86_64-linux-gnu/libgallium*'
  './usr/lib/x86_64-linux-gnu/libz3.so*'
  './usr/lib/x86_64-linux-gnu/libicu*'
  './usr/lib/x86_64-linux-gnu/libxml2.so*'
  ./usr/lib/x86_64-linux-gnu/perl
  ./usr/share/perl
  './usr/lib/x86_64-linux-gnu/libperl.so*'
)
