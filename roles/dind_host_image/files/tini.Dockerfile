# The image of encompass.netlab's Docker-in-Docker test hosts (built by the dind_host_image role).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PACKAGES
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
COPY netlab-host-init /usr/local/sbin/netlab-host-init
RUN chmod 0755 /usr/local/sbin/netlab-host-init
# A bytecode cache for the modules Ansible runs here (netlab_zipimport_cache.py), unless BYTECODE_CACHE is false.
ARG BYTECODE_CACHE=false
COPY netlab_zipimport_cache.py /usr/local/share/netlab/netlab_zipimport_cache.py
RUN if [ "$BYTECODE_CACHE" = true ]; then \
        ln -s /usr/local/share/netlab/netlab_zipimport_cache.py /usr/lib/python3/dist-packages/netlab_zipimport_cache.py \
        && echo "import netlab_zipimport_cache" > /usr/lib/python3/dist-packages/netlab_zipimport_cache.pth; \
    else rm -r /usr/local/share/netlab; fi
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/sbin/netlab-host-init"]
CMD ["sleep", "infinity"]
