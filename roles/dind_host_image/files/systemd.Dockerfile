# A Docker-in-Docker test host with systemd as PID 1 (built by the dind_host_image role, init: systemd).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PACKAGES
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv dbus ${PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
# The host role enables and starts the daemons through their units: none of them starts by itself on the first
# boot. Units a container cannot run are masked.
RUN for unit in docker.service docker.socket containerd.service openvswitch-switch.service ovn-central.service \
        ovn-host.service; do systemctl disable "$unit" 2>/dev/null || true; done \
 && systemctl mask systemd-udevd.service systemd-udev-trigger.service systemd-networkd-wait-online.service \
        getty@tty1.service console-getty.service 2>/dev/null || true
COPY netlab-host-init /usr/local/sbin/netlab-host-init
RUN chmod 0755 /usr/local/sbin/netlab-host-init
# A bytecode cache for the modules Ansible runs here (netlab_zipimport_cache.py), unless BYTECODE_CACHE is false.
ARG BYTECODE_CACHE=false
COPY netlab_zipimport_cache.py /usr/local/share/netlab/netlab_zipimport_cache.py
RUN if [ "$BYTECODE_CACHE" = true ]; then \
        ln -s /usr/local/share/netlab/netlab_zipimport_cache.py /usr/lib/python3/dist-packages/netlab_zipimport_cache.py \
        && echo "import netlab_zipimport_cache" > /usr/lib/python3/dist-packages/netlab_zipimport_cache.pth; \
    else rm -r /usr/local/share/netlab; fi
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/sbin/netlab-host-init"]
CMD ["/lib/systemd/systemd"]
