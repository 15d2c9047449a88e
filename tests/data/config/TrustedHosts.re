# refile: host list with host-name patterns
127.0.0.1
localhost
192.168.0.1/24
*.example.pw
!*.guest.example.pw
